print("SLKD benchmarks")
