extension EAHManifest {
    /// Checks everything the schema (`schemas/eah_manifest.proto`) requires beyond the wire
    /// format: a supported schema version, indices in range, heads exactly on static patches,
    /// β and statistics in range, 64-character lowercase hex digests, relative unique paths,
    /// and a baked manifest holding only static `all` patches.
    ///
    /// `write(to:overwrite:)` and `init(serialized:)` call it; field names in the problems are
    /// the schema's (`patches[1].head`).
    public func validate() throws(ManifestProblem) {
        if schemaVersion <= 0 { throw .missingSchemaVersion }
        if schemaVersion > Self.currentSchemaVersion {
            throw .unsupportedSchemaVersion(found: schemaVersion, supported: Self.currentSchemaVersion)
        }
        try Self.validate(files: model.sourceFiles, field: "model.source_files")

        var patchedLayers = Set<Int>()
        for (index, patch) in patches.enumerated() {
            let field = "patches[\(index)]"
            try Self.validate(index: patch.layer, field: "\(field).layer")
            guard patchedLayers.insert(patch.layer).inserted else { throw .duplicateLayer(field: "patches", layer: patch.layer) }
            if case .fixed(let head) = patch.selection { try Self.validate(index: head, field: "\(field).head") }
            try Self.validate(beta: patch.beta, field: "\(field).beta")
            if let targets = patch.targetHeads {
                if targets.isEmpty { throw .emptyTargetHeads(layer: patch.layer) }
                var seen = Set<Int>()
                for (position, head) in targets.enumerated() {
                    try Self.validate(index: head, field: "\(field).target_heads[\(position)]")
                    guard seen.insert(head).inserted else { throw .duplicateTargetHead(layer: patch.layer, head: head) }
                }
            }
            if baked {
                guard case .fixed = patch.selection, patch.phase == .all else { throw .bakedPatchNotStaticAll(layer: patch.layer) }
            }
        }

        if let calibration {
            try Self.validate(digest: calibration.dataDigest, field: "calibration.data_digest")
            if calibration.sampleCount < 0 { throw .invalidCount(field: "calibration.sample_count", value: String(calibration.sampleCount)) }
            try Self.validate(beta: calibration.beta, field: "calibration.beta")
            var calibratedLayers = Set<Int>()
            for (index, summary) in calibration.layers.enumerated() {
                let field = "calibration.layers[\(index)]"
                try Self.validate(index: summary.layer, field: "\(field).layer")
                guard calibratedLayers.insert(summary.layer).inserted else {
                    throw .duplicateLayer(field: "calibration.layers", layer: summary.layer)
                }
                let headCount = summary.meanSinkCount.count
                guard summary.sinkDensity.count == headCount, summary.winFrequency.count == headCount else {
                    throw .statisticsLengthMismatch(layer: summary.layer, meanSinkCount: headCount,
                                                    sinkDensity: summary.sinkDensity.count, winFrequency: summary.winFrequency.count)
                }
                for head in 0..<headCount {
                    try Self.validate(statistic: summary.meanSinkCount[head], upTo: .infinity, field: "\(field).mean_sink_count[\(head)]")
                    try Self.validate(statistic: summary.sinkDensity[head], upTo: 1, field: "\(field).sink_density[\(head)]")
                    try Self.validate(statistic: summary.winFrequency[head], upTo: 1, field: "\(field).win_frequency[\(head)]")
                }
                if let chosen = summary.chosenHead {
                    try Self.validate(index: chosen, field: "\(field).chosen_head")
                    guard chosen < headCount else { throw .chosenHeadOutOfRange(layer: summary.layer, head: chosen, headCount: headCount) }
                }
                try Self.validate(statistic: summary.agreement, upTo: 1, field: "\(field).agreement")
            }
        }

        try Self.validate(files: weightFiles, field: "weight_files")
    }

    private static func validate(index: Int, field: String) throws(ManifestProblem) {
        guard index >= 0, index <= Int(Int32.max) else { throw .invalidIndex(field: field, value: index) }
    }

    private static func validate(beta: Double, field: String) throws(ManifestProblem) {
        guard beta.isFinite, beta >= 0, beta <= 1 else { throw .invalidBeta(field: field, value: beta) }
    }

    private static func validate(statistic value: Double, upTo limit: Double, field: String) throws(ManifestProblem) {
        guard value.isFinite, value >= 0, value <= limit else { throw .invalidStatistic(field: field, value: value) }
    }

    static func validate(digest: String, field: String) throws(ManifestProblem) {
        let utf8 = digest.utf8
        guard utf8.count == 64, utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw .invalidDigest(field: field, value: digest)
        }
    }

    private static func validate(files: [FileChecksum], field: String) throws(ManifestProblem) {
        var paths = Set<String>()
        for (index, file) in files.enumerated() {
            let components = file.path.split(separator: "/", omittingEmptySubsequences: false)
            guard !file.path.isEmpty, !file.path.hasPrefix("/"), !file.path.utf8.contains(0),
                  components.allSatisfy({ !$0.isEmpty && $0 != ".." }) else {
                throw .invalidPath(field: "\(field)[\(index)].path", path: file.path)
            }
            guard paths.insert(file.path).inserted else { throw .duplicatePath(field: field, path: file.path) }
            try validate(digest: file.sha256, field: "\(field)[\(index)].sha256")
            if file.size < 0 { throw .invalidCount(field: "\(field)[\(index)].size", value: String(file.size)) }
        }
    }
}
