import EAHCore

/// Runs a program to completion and reports its wall time, exit status and peak RSS.
struct ChildProcess {
    let status: Int32
    let seconds: Double
    /// `ru_maxrss` of the child, in kilobytes.
    let peakRSSKilobytes: Int

    /// Runs `arguments` (absolute program path first) with standard output sent to `stdoutPath`
    /// (and standard error to `stderrPath` when given).
    static func run(_ arguments: [String], stdoutPath: String, stderrPath: String? = nil) -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if let stderrPath { posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let start = now()
        var pid: pid_t = 0
        guard posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ) == 0 else {
            return ChildProcess(status: -1, seconds: 0, peakRSSKilobytes: 0)
        }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let elapsed = now() - start
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return ChildProcess(status: exitStatus, seconds: elapsed, peakRSSKilobytes: Int(usage.ru_maxrss))
    }

    private static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
