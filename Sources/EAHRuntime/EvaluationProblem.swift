import EAHCheckpoint

/// Why an evaluation's annotations, synonyms or images cannot be used.
public enum EvaluationProblem: CheckpointProblem, Equatable {
    /// The annotation file is not JSON.
    case malformedJSON(String)
    /// A required member is absent or has the wrong type; `key` names it like `images[3].file_name`.
    case missingKey(String)
    /// An annotation names a category id that `categories` does not list.
    case unknownCategory(id: Int, annotation: Int)
    /// An annotation names an image id that `images` does not list.
    case unknownImage(id: Int, annotation: Int)
    /// Two entries of `images` or `categories` share an id.
    case duplicateID(list: String, id: Int)
    /// An image the evaluation needs is not in the images folder.
    case missingImage(String)
    /// The annotation file lists no image (or `--limit` leaves none with objects).
    case noImages
    /// A line of the synonyms file is unusable.
    case badSynonymLine(line: Int, reason: String)
    /// A file given to `eval --merge` is not a result `eval` wrote.
    case badResult(String)
    /// Results to merge measured different things, or the same images twice.
    case incompatibleResults(String)
    case nothingToMerge

    public var message: String {
        switch self {
        case .malformedJSON(let reason): "is not valid JSON: \(reason)"
        case .missingKey(let key): "'\(key)' is missing or has the wrong type"
        case .unknownCategory(let id, let annotation): "annotations[\(annotation)] names category id \(id), which 'categories' does not list"
        case .unknownImage(let id, let annotation): "annotations[\(annotation)] names image id \(id), which 'images' does not list"
        case .duplicateID(let list, let id): "'\(list)' lists id \(id) twice"
        case .missingImage(let file): "image '\(file)' is missing"
        case .noImages: "holds no image to evaluate"
        case .badSynonymLine(let line, let reason): "line \(line): \(reason)"
        case .badResult(let reason): "is not a usable eval result: \(reason)"
        case .incompatibleResults(let reason): "cannot be merged: \(reason)"
        case .nothingToMerge: "no results to merge"
        }
    }

    public var fix: String? {
        switch self {
        case .malformedJSON, .missingKey, .unknownCategory, .unknownImage, .duplicateID, .noImages:
            "pass COCO-format instance annotations ({\"images\": [{\"id\", \"file_name\"}], \"annotations\": [{\"image_id\", \"category_id\"}], \"categories\": [{\"id\", \"name\"}]})"
        case .missingImage: "pass --images with the folder holding the annotation file's images"
        case .badSynonymLine: "write one object per line: the canonical word, then its synonyms, comma-separated"
        case .badResult: "pass results written by eah-convert eval -o"
        case .incompatibleResults: "merge the disjoint --shard results of one eval command, each once"
        case .nothingToMerge: "pass the shard results after --merge"
        }
    }

    public var isUsageError: Bool { self == .nothingToMerge }
}
