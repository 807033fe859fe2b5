// libFuzzer's driver, entered from each harness's Swift main.
//
// SwiftPM links an executable target with its entry point renamed (main is defined as
// <Target>_main), so libFuzzer's own main is never used; the harness's @main calls this instead.
#ifndef CFUZZDRIVER_H
#define CFUZZDRIVER_H

/// Runs libFuzzer over LLVMFuzzerTestOneInput (exported by the harness with @_cdecl) with the
/// process's arguments, and returns its exit status.
int slkd_fuzz_main(int argc, char **argv);

#endif
