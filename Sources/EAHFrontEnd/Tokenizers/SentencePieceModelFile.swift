import CSentencePieceProto
import EAHCheckpoint
import EAHCore

/// Reads SentencePiece's `tokenizer.model`: a serialized `sentencepiece.ModelProto`
/// (schemas/sentencepiece_model.proto), decoded by libprotobuf-c's generated unpacker.
public enum SentencePieceModelFile {
    /// The tokenizer of the model file at `path`.
    ///
    /// Throws `CheckpointError` naming the file: `FileProblem` when it cannot be read, or a
    /// `TokenizerProblem` (`invalidModelProto`, `unsupportedModelType`, …).
    public static func load(path: String) throws(CheckpointError) -> SentencePieceTokenizer {
        let file = try MappedFile(path: path)
        do {
            return SentencePieceTokenizer(vocabulary: try vocabulary(serialized: file.bytes))
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }

    /// The vocabulary and normalizer settings of a serialized `ModelProto`.
    ///
    /// What protobuf-c allocates while unpacking is charged to `budget` (nil:
    /// `AllocationBudget.tokenizerModel(size:)` of the bytes): a message of many tiny pieces
    /// costs dozens of bytes of structures per byte, so the allocator refuses past the budget.
    public static func vocabulary(serialized bytes: UnsafeRawBufferPointer, budget: AllocationBudget? = nil) throws(TokenizerProblem) -> TokenizerVocabulary {
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let account = BudgetedAllocator(budget ?? .tokenizerModel(size: bytes.count))
        // An empty buffer is a valid (empty) message; give protobuf-c a real pointer anyway.
        let unpacked: UnsafeMutablePointer<Sentencepiece__ModelProto>? = withUnsafePointer(to: UInt8(0)) { empty in
            withUnsafeMutablePointer(to: &account.allocator) { sentencepiece__model_proto__unpack($0, bytes.count, base ?? empty) }
        }
        guard let model = unpacked else {
            if account.refused { throw .allocationBudget(limit: account.budget.limit) }
            throw .invalidModelProto(byteCount: bytes.count)
        }
        defer { withUnsafeMutablePointer(to: &account.allocator) { sentencepiece__model_proto__free_unpacked(model, $0) } }
        return try vocabulary(of: model.pointee)
    }

    /// A protobuf-c allocator that charges every allocation to a budget and fails (so that the
    /// unpacker fails and frees what it built) once it is spent.
    private final class BudgetedAllocator {
        var budget: AllocationBudget
        var refused = false
        var allocator = ProtobufCAllocator()

        init(_ budget: AllocationBudget) {
            self.budget = budget
            allocator.allocator_data = Unmanaged.passUnretained(self).toOpaque()
            allocator.alloc = { data, size in
                let account = Unmanaged<BudgetedAllocator>.fromOpaque(data!).takeUnretainedValue()
                guard account.budget.charge(size) else {
                    account.refused = true
                    return nil
                }
                return malloc(size)
            }
            allocator.free = { _, pointer in free(pointer) }
        }
    }

    private static func vocabulary(of model: Sentencepiece__ModelProto) throws(TokenizerProblem) -> TokenizerVocabulary {
        let trainer = model.trainer_spec?.pointee
        let modelType = trainer.map { $0.has_model_type != 0 ? $0.model_type : SENTENCEPIECE__TRAINER_SPEC__MODEL_TYPE__UNIGRAM }
            ?? SENTENCEPIECE__TRAINER_SPEC__MODEL_TYPE__UNIGRAM
        guard modelType == SENTENCEPIECE__TRAINER_SPEC__MODEL_TYPE__BPE else {
            let names: [UInt32: String] = [1: "unigram", 2: "bpe", 3: "word", 4: "char"]
            throw .unsupportedModelType(names[modelType.rawValue] ?? "\(modelType.rawValue)")
        }
        var pieces: [String] = []
        var scores: [Float] = []
        var kinds: [TokenPieceKind] = []
        pieces.reserveCapacity(model.n_pieces)
        for index in 0..<model.n_pieces {
            guard let piece = model.pieces?[index]?.pointee else { throw .invalidModelProto(byteCount: 0) }
            pieces.append(piece.piece.map { String(cString: $0) } ?? "")
            scores.append(piece.has_score != 0 ? piece.score : 0)
            let type = piece.has_type != 0 ? Int(piece.type.rawValue) : 1
            kinds.append(TokenPieceKind(rawValue: type) ?? .normal)
        }
        guard let unknownID = kinds.firstIndex(of: .unknown) else {
            throw .invalidSpecialID(which: "unk", id: Int(trainer?.unk_id ?? 0), vocabularySize: pieces.count)
        }
        let normalizer = model.normalizer_spec?.pointee
        var charsmap: PrecompiledCharsmap?
        if let normalizer, normalizer.has_precompiled_charsmap != 0, normalizer.precompiled_charsmap.len > 0,
           let data = normalizer.precompiled_charsmap.data {
            let blob = Array(UnsafeBufferPointer(start: data, count: normalizer.precompiled_charsmap.len))
            guard let parsed = PrecompiledCharsmap(blob) else { throw .invalidCharsmap(byteCount: blob.count) }
            charsmap = parsed
        }
        if let trainer, trainer.has_treat_whitespace_as_suffix != 0, trainer.treat_whitespace_as_suffix != 0 {
            throw .unsupportedComponent("treat_whitespace_as_suffix (▁ at the end of pieces)")
        }
        func special(_ id: Int32?) -> Int? { id.flatMap { $0 >= 0 ? Int($0) : nil } }
        func flag(_ has: protobuf_c_boolean?, _ value: protobuf_c_boolean?, default defaultValue: Bool) -> Bool {
            guard let has, has != 0, let value else { return defaultValue }
            return value != 0
        }
        return try TokenizerVocabulary(
            pieces: pieces, scores: scores, kinds: kinds, unknownID: unknownID,
            bosID: special(trainer.map { $0.has_bos_id != 0 ? $0.bos_id : 1 } ?? 1),
            eosID: special(trainer.map { $0.has_eos_id != 0 ? $0.eos_id : 2 } ?? 2),
            addsBOS: true,
            byteFallback: flag(trainer?.has_byte_fallback, trainer?.byte_fallback, default: false),
            addDummyPrefix: flag(normalizer?.has_add_dummy_prefix, normalizer?.add_dummy_prefix, default: true),
            removeExtraWhitespaces: flag(normalizer?.has_remove_extra_whitespaces, normalizer?.remove_extra_whitespaces, default: true),
            escapeWhitespaces: flag(normalizer?.has_escape_whitespaces, normalizer?.escape_whitespaces, default: true),
            unknownSurface: trainer?.unk_surface.map { String(cString: $0) } ?? " \u{2047} ",
            charsmap: charsmap)
    }
}
