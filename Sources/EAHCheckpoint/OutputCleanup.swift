#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Removes unfinished output files when the process is interrupted.
///
/// `AtomicOutputFile` registers its temporary path here; `installSignalHandlers()` (called once
/// by each executable) makes SIGINT, SIGTERM and SIGHUP unlink every registered path before the
/// process exits, so an interrupted run leaves nothing behind.
public enum OutputCleanup {
    private static let capacity = 64
    /// C strings the signal handler may read without locking: slots are set before use and
    /// cleared after, each a single pointer store.
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let pointer = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        pointer.initialize(repeating: nil, count: capacity)
        return pointer
    }()
    private static let lock = Mutex(())

    static func register(_ path: String) {
        lock.withLock { _ in
            for index in 0..<capacity where slots[index] == nil {
                slots[index] = strdup(path)
                return
            }
        }
    }

    static func unregister(_ path: String) {
        lock.withLock { _ in
            for index in 0..<capacity {
                if let entry = slots[index], String(cString: entry) == path {
                    slots[index] = nil
                    free(entry)
                }
            }
        }
    }

    /// Installs handlers for SIGINT, SIGTERM and SIGHUP that delete registered outputs and exit
    /// with 128 + the signal number.
    public static func installSignalHandlers() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber) { received in
                for index in 0..<OutputCleanup.capacity {
                    if let entry = OutputCleanup.slots[index] { unlink(entry) }
                }
                _exit(128 + received)
            }
        }
    }
}
