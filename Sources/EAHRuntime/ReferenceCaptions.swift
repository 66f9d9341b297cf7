import EAHCheckpoint

/// COCO's human reference captions (`captions_val2014.json`: `{"annotations": [{"image_id",
/// "caption"}, ...]}`, other members ignored), which CHAIR's script mines for ground-truth
/// objects besides the instance annotations.
public struct ReferenceCaptions: Sendable {
    /// Image id → its captions, in file order.
    public let captions: [Int: [String]]

    public init(json: JSONValue) throws(EvaluationProblem) {
        guard case .array(let list)? = json["annotations"] else { throw .missingKey("annotations") }
        var captions: [Int: [String]] = [:]
        for (index, entry) in list.enumerated() {
            guard case .integer(let id)? = entry["image_id"] else { throw .missingKey("annotations[\(index)].image_id") }
            guard case .string(let caption)? = entry["caption"] else { throw .missingKey("annotations[\(index)].caption") }
            captions[id, default: []].append(caption)
        }
        self.captions = captions
    }

    /// Reads a captions file.
    public init(path: String) throws(CheckpointError) {
        let json = try COCOAnnotations.readJSON(path)
        do throws(EvaluationProblem) {
            try self.init(json: json)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }

    /// The objects `vocabulary` finds in the captions of each image.
    public func objects(_ vocabulary: ObjectVocabulary) -> [Int: [String]] {
        captions.mapValues { texts in
            var found: [String] = []
            for text in texts { for object in vocabulary.objects(in: text) where !found.contains(object) { found.append(object) } }
            return found
        }
    }
}
