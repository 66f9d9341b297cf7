import EAHCheckpoint

extension EAHManifest {
    /// The manifest as versioned JSON (for `eah-convert inspect BUNDLE --json`).
    public var json: JSONValue {
        func checksums(_ files: [FileChecksum]) -> JSONValue {
            .array(files.map { .object([("path", .string($0.path)), ("sha256", .string($0.sha256)), ("size", .integer($0.size))]) })
        }
        let patches = self.patches.map(\.json)
        var fields: [(String, JSONValue)] = [
            ("manifest_schema", .integer(schemaVersion)),
            ("tool_version", .string(toolVersion)),
            ("model", .object([("architecture", .string(model.architecture)), ("family", .string(model.family)), ("weight_layout", .string(model.weightLayout)),
                               ("source_files", checksums(model.sourceFiles))])),
            ("patches", .array(patches)),
            ("baked", .bool(baked)),
            ("weight_files", checksums(weightFiles)),
        ]
        if let calibration {
            fields.append(("calibration", .object([
                ("data_digest", .string(calibration.dataDigest)), ("samples", .integer(calibration.sampleCount)),
                ("beta", .number(calibration.beta)),
                ("layers", .array(calibration.layers.map { layer in
                    .object([("layer", .integer(layer.layer)), ("chosen_head", layer.chosenHead.map(JSONValue.integer) ?? .null),
                             ("agreement", .number(layer.agreement)),
                             ("mean_sink_count", .array(layer.meanSinkCount.map(JSONValue.number))),
                             ("sink_density", .array(layer.sinkDensity.map(JSONValue.number))),
                             ("win_frequency", .array(layer.winFrequency.map(JSONValue.number)))])
                })),
            ])))
        }
        return .object(fields)
    }

    /// A listing for people.
    public var text: String {
        var lines = [
            "EAH bundle (manifest schema \(schemaVersion), made by eah \(toolVersion))",
            "model:    \(TerminalText.escape(model.architecture))\(model.family.isEmpty ? "" : ", family " + TerminalText.escape(model.family)), layout \(model.weightLayout), \(model.sourceFiles.count) source files",
            "baked:    \(baked ? "yes (the broadcast is in the weights)" : "no (applied at load time)")",
        ]
        for patch in patches {
            let selection: String
            switch patch.selection {
            case .dynamic: selection = "dynamic (densest head per input)"
            case .fixed(let head): selection = "static head \(head)"
            }
            let targets = patch.targetHeads.map { "heads \($0.map(String.init).joined(separator: ","))" } ?? "all heads"
            lines.append("patch:    layer \(patch.layer): \(selection), β \(patch.beta), phase \(patch.phase.rawValue), onto \(targets)")
        }
        if let calibration {
            lines.append("calibration: \(calibration.sampleCount) samples, β \(calibration.beta), data sha256 \(calibration.dataDigest.prefix(16))…")
            for layer in calibration.layers {
                lines.append("  layer \(layer.layer): head \(layer.chosenHead.map(String.init) ?? "none"), agreement \(Int((layer.agreement * 100).rounded()))%")
            }
        }
        lines.append("weights:")
        for file in weightFiles { lines.append("  \(TerminalText.escape(file.path))  \(file.size) bytes  sha256 \(file.sha256)") }
        return lines.joined(separator: "\n")
    }
}

extension EAHLayerPatch {
    /// The patch as JSON: layer, selection (and head), β, phase, target heads.
    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [("layer", .integer(layer))]
        switch selection {
        case .dynamic: fields.append(("selection", .string("dynamic")))
        case .fixed(let head): fields += [("selection", .string("static")), ("head", .integer(head))]
        }
        fields += [("beta", .number(beta)), ("phase", .string(phase.rawValue)),
                   ("target_heads", targetHeads.map { .array($0.map(JSONValue.integer)) } ?? .string("all"))]
        return .object(fields)
    }
}
