import EAHCore
import COutputCleanup
import Synchronization

/// Removes unfinished outputs when the process is interrupted.
///
/// `AtomicOutputFile` registers its temporary file here and a folder output (a bundle being
/// written) its temporary folder; `installSignalHandlers()` (called once by each executable)
/// makes SIGINT, SIGTERM and SIGHUP unlink every registered file and remove every registered
/// folder with what it holds (async-signal-safe, `eah_remove_tree`) before the process exits,
/// so an interrupted run leaves nothing behind.
public enum OutputCleanup {
    private static let capacity = 64
    /// C strings the signal handler may read without locking: slots are set before use and
    /// cleared after, each a single pointer store.
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let pointer = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        pointer.initialize(repeating: nil, count: capacity)
        return pointer
    }()
    /// Whether each slot names a folder (removed with its contents).
    nonisolated(unsafe) private static let folderSlots: UnsafeMutablePointer<Bool> = {
        let pointer = UnsafeMutablePointer<Bool>.allocate(capacity: capacity)
        pointer.initialize(repeating: false, count: capacity)
        return pointer
    }()
    /// Per slot, a file whose inode, when it is the recorded one, keeps the slot's file (see
    /// `register(_:unlessFileAt:hasInode:)`); nil: none.
    nonisolated(unsafe) private static let guardSlots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let pointer = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        pointer.initialize(repeating: nil, count: capacity)
        return pointer
    }()
    nonisolated(unsafe) private static let guardInodes: UnsafeMutablePointer<UInt64> = {
        let pointer = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
        return pointer
    }()
    /// Per slot, the inode the slot's own file must have to be removed (0: any).
    nonisolated(unsafe) private static let ownInodes: UnsafeMutablePointer<UInt64> = {
        let pointer = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
        return pointer
    }()
    private static let lock = Mutex(())

    /// Registers a file: an interrupted run unlinks it.
    public static func register(_ path: String) {
        register(path, folder: false)
    }

    /// Registers a temporary folder: an interrupted run removes it with everything inside.
    public static func registerFolder(_ path: String) {
        register(path, folder: true)
    }

    /// Registers a file that an interrupted run unlinks only while it is the file with inode
    /// `ownInode` and the file at `guardPath` is not the one with inode `inode`: one of a pair
    /// committed by two renames. Registered before the first rename, it spares the file it
    /// replaces (another inode); once the second file is renamed into `guardPath`, the pair is
    /// complete and the first stays, even before it is unregistered.
    public static func register(_ path: String, ownInode: UInt64, unlessFileAt guardPath: String, hasInode inode: UInt64) {
        register(path, folder: false, guardPath: guardPath, inode: inode, ownInode: ownInode)
    }

    private static func register(_ path: String, folder: Bool, guardPath: String? = nil, inode: UInt64 = 0, ownInode: UInt64 = 0) {
        lock.withLock { _ in
            for index in 0..<capacity where slots[index] == nil {
                folderSlots[index] = folder
                guardInodes[index] = inode
                ownInodes[index] = ownInode
                guardSlots[index] = guardPath.map { strdup($0) }
                slots[index] = strdup(path)
                return
            }
        }
    }

    /// Removes a file or folder from the list (it was committed or is removed already).
    public static func unregister(_ path: String) {
        lock.withLock { _ in
            for index in 0..<capacity {
                if let entry = slots[index], String(cString: entry) == path {
                    slots[index] = nil
                    free(entry)
                    if let guardEntry = guardSlots[index] {
                        guardSlots[index] = nil
                        free(guardEntry)
                    }
                }
            }
        }
    }

    /// Installs handlers for SIGINT, SIGTERM and SIGHUP that delete registered outputs and exit
    /// with 128 + the signal number.
    ///
    /// The signals are also unblocked: a parent that blocks them (a test runner, some process
    /// managers) would otherwise leave them pending, and an interrupted run would not stop.
    public static func installSignalHandlers() {
        // Initialise the lazy globals now: the handler must not run their one-time set-up
        // (it allocates, and the signal may have interrupted an allocation).
        _ = (slots, folderSlots, guardSlots, guardInodes, ownInodes)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&unblocked, signalNumber) }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber) { received in
                for index in 0..<OutputCleanup.capacity {
                    guard let entry = OutputCleanup.slots[index] else { continue }
                    if let guardEntry = OutputCleanup.guardSlots[index] {
                        var status = stat()
                        if lstat(guardEntry, &status) == 0, UInt64(status.st_ino) == OutputCleanup.guardInodes[index] { continue }
                    }
                    if OutputCleanup.ownInodes[index] != 0 {
                        var status = stat()
                        guard lstat(entry, &status) == 0, UInt64(status.st_ino) == OutputCleanup.ownInodes[index] else { continue }
                    }
                    if OutputCleanup.folderSlots[index] { eah_remove_tree(entry) } else { unlink(entry) }
                }
                _exit(128 + received)
            }
        }
    }

    /// Removes `path` and everything under it, without following symbolic links.
    public static func removeTree(_ path: String) {
        eah_remove_tree(path)
    }

    /// Swaps two paths atomically (`renameat2` with `RENAME_EXCHANGE`); false (errno set) where
    /// the file system cannot.
    public static func exchange(_ first: String, _ second: String) -> Bool {
        eah_exchange(first, second) == 0
    }
}

/// Folders being built under a temporary name (`.NAME.partial-*`), with their destinations: an
/// error about a file inside one names the file as it will be in the destination, not a hidden
/// folder that is gone by the time the error is read.
public enum PartialOutputFolders {
    private static let destinations = Mutex<[String: String]>([:])

    public static func register(_ temporary: String, destination: String) {
        destinations.withLock { $0[temporary] = destination }
    }

    public static func unregister(_ temporary: String) {
        _ = destinations.withLock { $0.removeValue(forKey: temporary) }
    }

    /// `path` with a folder being built replaced by its destination.
    public static func shown(_ path: String) -> String {
        guard path.contains(".partial-") else { return path }
        return destinations.withLock { table in
            for (temporary, destination) in table {
                if path == temporary { return destination }
                if path.hasPrefix(temporary + "/") { return destination + path.dropFirst(temporary.count) }
            }
            return path
        }
    }
}
