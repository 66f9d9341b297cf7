// The one place that names the C library: Glibc on Debian/Ubuntu, Musl on static Linux builds,
// Darwin on macOS. Modules importing EAHCore get it from here; no other file imports it or
// names it (write `systemWrite`/`systemExit` where a method of the same name hides the C one).
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Musl)
@_exported import Musl
#elseif canImport(Darwin)
@_exported import Darwin
#endif

/// `write(2)`, for code inside a type whose own `write` hides the C function.
@inlinable
public func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

/// `exit(3)`, for code inside a type whose own `exit` hides the C function.
public func systemExit(_ status: Int32) -> Never {
    exit(status)
}

/// The process's peak resident set in bytes (`getrusage`'s `ru_maxrss`: kilobytes on Linux,
/// bytes on Darwin), or nil if it cannot be read.
public func peakResidentSetBytes() -> Int? {
    var usage = rusage()
    #if canImport(Glibc)
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return nil }  // an enum in Glibc
    #else
    guard getrusage(RUSAGE_SELF, &usage) == 0 else { return nil }
    #endif
    #if canImport(Darwin)
    return Int(usage.ru_maxrss)
    #else
    return Int(usage.ru_maxrss) * 1024
    #endif
}
