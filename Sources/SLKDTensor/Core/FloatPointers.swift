/// A generic kernel's pointer seen as Float, for the branches that have just checked
/// `T.self == Float.self` and hand the buffer to a C kernel of `CSLKDKernels`.
@inline(__always)
func floatPointer<T>(_ pointer: UnsafePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
}

@inline(__always)
func floatPointer<T>(_ pointer: UnsafeMutablePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
}

@inline(__always)
func mutableFloatPointer<T>(_ pointer: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: Float.self)
}
