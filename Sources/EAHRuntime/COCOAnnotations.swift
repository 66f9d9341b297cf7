import EAHCheckpoint
import EAHCore

/// COCO-format instance annotations: images, the categories, and which objects each image holds.
///
/// Reads `{"images": [{"id", "file_name", ...}], "annotations": [{"image_id", "category_id", ...}],
/// "categories": [{"id", "name", ...}]}` (COCO's `instances_val2014.json`, or a small file of the
/// same shape); other members are ignored. Validation is strict: every required member must be
/// present with its type, ids unique, and each annotation must name a listed image and category.
/// Image files are checked separately (`checkFiles`), for the images an evaluation uses.
public struct COCOAnnotations: Sendable {
    /// One image and the objects annotated in it.
    public struct Image: Sendable, Equatable {
        public let id: Int
        public let fileName: String
        /// Category id → number of annotated instances in this image.
        public let instances: [Int: Int]

        /// The distinct category ids of the image, most instances first (ties: lower id).
        public var categoryIDs: [Int] {
            instances.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
        }
    }

    /// One object category.
    public struct Category: Sendable, Equatable {
        public let id: Int
        public let name: String
    }

    /// Images in file order.
    public let images: [Image]
    /// Categories in file order.
    public let categories: [Category]
    /// Where image `file_name`s are resolved (relative names only).
    public let imagesFolder: String
    private let names: [Int: String]

    /// Reads the annotation file at `path`; images live in `imagesFolder`, by default the file's folder.
    public init(path: String, imagesFolder: String? = nil) throws(CheckpointError) {
        let json = try Self.readJSON(path)
        let folder = imagesFolder ?? (path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ".")
        do throws(EvaluationProblem) {
            try self.init(json: json, imagesFolder: folder.isEmpty ? "/" : folder)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }

    /// The JSON document at `path` (COCO's annotation files); not JSON is `malformedJSON`.
    static func readJSON(_ path: String) throws(CheckpointError) -> JSONValue {
        let file = try MappedFile(path: path)
        do throws(JSONProblem) {
            return try withExtendedLifetime(file) { () throws(JSONProblem) -> JSONValue in try JSONParser.parse(file.bytes) }
        } catch {
            throw CheckpointError(path: path, problem: EvaluationProblem.malformedJSON(error.message))
        }
    }

    /// Builds the annotations from a parsed document.
    public init(json: JSONValue, imagesFolder: String) throws(EvaluationProblem) {
        guard case .array(let imageList)? = json["images"] else { throw .missingKey("images") }
        guard case .array(let annotationList)? = json["annotations"] else { throw .missingKey("annotations") }
        guard case .array(let categoryList)? = json["categories"] else { throw .missingKey("categories") }
        var categories: [Category] = []
        var names: [Int: String] = [:]
        for (index, entry) in categoryList.enumerated() {
            guard case .integer(let id)? = entry["id"] else { throw .missingKey("categories[\(index)].id") }
            guard case .string(let name)? = entry["name"], !name.isEmpty else { throw .missingKey("categories[\(index)].name") }
            guard names[id] == nil else { throw .duplicateID(list: "categories", id: id) }
            names[id] = name
            categories.append(Category(id: id, name: name))
        }
        var order: [(id: Int, fileName: String)] = []
        var instances: [Int: [Int: Int]] = [:]
        for (index, entry) in imageList.enumerated() {
            guard case .integer(let id)? = entry["id"] else { throw .missingKey("images[\(index)].id") }
            guard case .string(let fileName)? = entry["file_name"], !fileName.isEmpty else { throw .missingKey("images[\(index)].file_name") }
            guard instances[id] == nil else { throw .duplicateID(list: "images", id: id) }
            instances[id] = [:]
            order.append((id, fileName))
        }
        for (index, entry) in annotationList.enumerated() {
            guard case .integer(let imageID)? = entry["image_id"] else { throw .missingKey("annotations[\(index)].image_id") }
            guard case .integer(let categoryID)? = entry["category_id"] else { throw .missingKey("annotations[\(index)].category_id") }
            guard names[categoryID] != nil else { throw .unknownCategory(id: categoryID, annotation: index) }
            guard instances[imageID] != nil else { throw .unknownImage(id: imageID, annotation: index) }
            instances[imageID, default: [:]][categoryID, default: 0] += 1
        }
        guard !order.isEmpty else { throw .noImages }
        images = order.map { Image(id: $0.id, fileName: $0.fileName, instances: instances[$0.id] ?? [:]) }
        self.categories = categories
        self.names = names
        self.imagesFolder = imagesFolder
    }

    /// The name of category `id`.
    public func name(of id: Int) -> String? { names[id] }

    /// The category names of `image`, most instances first.
    public func objectNames(of image: Image) -> [String] {
        image.categoryIDs.compactMap { names[$0] }
    }

    /// Where `image`'s file is.
    public func path(of image: Image) -> String {
        image.fileName.hasPrefix("/") ? image.fileName : imagesFolder + "/" + image.fileName
    }

    /// Throws `missingImage` for the first of `images` whose file does not exist.
    public func checkFiles(_ images: [Image]) throws(CheckpointError) {
        for image in images {
            let file = path(of: image)
            var status = stat()
            guard stat(file, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
                throw CheckpointError(path: file, problem: EvaluationProblem.missingImage(image.fileName))
            }
        }
    }
}
