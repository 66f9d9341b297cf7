/// POPE, the polling-based object probing of Li et al. 2023 ("Evaluating Object Hallucination in
/// Large Vision-Language Models"): its questions, answer parsing and scores.
///
/// Per image, up to `perImage` (3) ground-truth categories (most instances first, ties: lower id)
/// are "yes" questions and as many absent categories "no" questions, alternating yes, no. The
/// absent ones are chosen by `Sampling`. Scores count "yes" as positive: accuracy, precision,
/// recall, F1 and the share of "yes" answers; every ratio is 0 when its denominator is.
public struct POPEMetric: Sendable {
    /// How the absent ("no") objects of an image are chosen.
    public enum Sampling: String, CaseIterable, Sendable {
        /// Uniformly among the absent categories, from a generator seeded by the seed and the image id.
        case random
        /// The categories in the most images of the whole annotation set (ties: lower id).
        case popular
        /// The categories that share the most images with the image's objects, summed over its
        /// objects (ties: lower id).
        case adversarial
    }

    /// One yes/no question about one image.
    public struct Question: Sendable, Equatable {
        public let imageID: Int
        public let categoryID: Int
        public let object: String
        /// Whether the object is annotated in the image (the right answer is "yes").
        public let present: Bool

        public init(imageID: Int, categoryID: Int, object: String, present: Bool) {
            self.imageID = imageID
            self.categoryID = categoryID
            self.object = object
            self.present = present
        }

        /// POPE's template (the chat template wraps it).
        public var text: String { text(template: POPEMetric.defaultTemplate) }

        /// The question from a template in which `{object}` stands for the object's name.
        public func text(template: String) -> String {
            template.split(separator: "{object}", omittingEmptySubsequences: false).joined(separator: object)
        }
    }

    /// POPE's question.
    public static let defaultTemplate = "Is there a {object} in the image?"

    public private(set) var truePositives = 0
    public private(set) var falsePositives = 0
    public private(set) var trueNegatives = 0
    public private(set) var falseNegatives = 0

    public init() {}

    /// Adds the model's `answer` to a question whose right answer is yes when `present`; returns
    /// the parsed answer (true = yes).
    @discardableResult
    public mutating func add(present: Bool, answer: String) -> Bool {
        let yes = Self.isYes(answer)
        switch (present, yes) {
        case (true, true): truePositives += 1
        case (false, true): falsePositives += 1
        case (false, false): trueNegatives += 1
        case (true, false): falseNegatives += 1
        }
        return yes
    }

    public var questions: Int { truePositives + falsePositives + trueNegatives + falseNegatives }
    public var accuracy: Double { CHAIRMetric.ratio(truePositives + trueNegatives, questions) }
    public var precision: Double { CHAIRMetric.ratio(truePositives, truePositives + falsePositives) }
    public var recall: Double { CHAIRMetric.ratio(truePositives, truePositives + falseNegatives) }
    public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
    public var yesRatio: Double { CHAIRMetric.ratio(truePositives + falsePositives, questions) }

    /// Whether `answer` means yes, as POPE's evaluation parses it: only the first sentence (up to
    /// the first "."), lowercased; "no" when it starts with "no" or holds the word "no" or "not"
    /// (words split at every non-letter, non-digit), else "yes".
    public static func isYes(_ answer: String) -> Bool {
        let sentence = answer.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let lowered = sentence.lowercased().drop { $0.isWhitespace }
        if lowered.hasPrefix("no") { return false }
        return !words(String(lowered)).contains { $0 == "no" || $0 == "not" }
    }

    /// `text` split into words at every character that is not a letter or digit.
    static func words(_ text: String) -> [String] {
        text.split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    /// The questions for `images` (a subset of `annotations.images`), image by image. Images
    /// without annotated objects get none.
    public static func questions(for images: [COCOAnnotations.Image], in annotations: COCOAnnotations, sampling: Sampling,
                                 seed: UInt64, perImage: Int = 3) -> [Question] {
        let allIDs = annotations.categories.map(\.id).sorted()
        let imageCounts = annotations.images.reduce(into: [Int: Int]()) { counts, image in
            for id in image.instances.keys { counts[id, default: 0] += 1 }
        }
        let cooccurrence = sampling == .adversarial ? Self.cooccurrence(annotations) : [:]
        var questions: [Question] = []
        for image in images {
            let present = Array(image.categoryIDs.prefix(perImage))
            let absent = allIDs.filter { image.instances[$0] == nil }
            let negatives: [Int]
            switch sampling {
            case .random:
                var generator = SeededGenerator(seed: seed ^ (UInt64(bitPattern: Int64(image.id)) &* 0x9e37_79b9_7f4a_7c15))
                var pool = absent
                var chosen: [Int] = []
                while chosen.count < present.count, !pool.isEmpty {
                    chosen.append(pool.remove(at: Int(generator.next() % UInt64(pool.count))))
                }
                negatives = chosen
            case .popular:
                negatives = Array(Self.ranked(absent) { imageCounts[$0] ?? 0 }.prefix(present.count))
            case .adversarial:
                let score = { (candidate: Int) in image.instances.keys.reduce(0) { $0 + (cooccurrence[$1]?[candidate] ?? 0) } }
                negatives = Array(Self.ranked(absent, by: score).prefix(present.count))
            }
            for index in 0..<present.count {
                questions.append(question(image: image, category: present[index], present: true, annotations: annotations))
                if index < negatives.count {
                    questions.append(question(image: image, category: negatives[index], present: false, annotations: annotations))
                }
            }
        }
        return questions
    }

    private static func question(image: COCOAnnotations.Image, category: Int, present: Bool, annotations: COCOAnnotations) -> Question {
        Question(imageID: image.id, categoryID: category, object: annotations.name(of: category) ?? String(category), present: present)
    }

    /// `ids` by descending `score`, ties to the lower id.
    private static func ranked(_ ids: [Int], by score: (Int) -> Int) -> [Int] {
        ids.map { ($0, score($0)) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.map(\.0)
    }

    /// Category a → category b → number of images holding both.
    private static func cooccurrence(_ annotations: COCOAnnotations) -> [Int: [Int: Int]] {
        var counts: [Int: [Int: Int]] = [:]
        for image in annotations.images {
            let ids = Array(image.instances.keys)
            for a in ids { for b in ids where a != b { counts[a, default: [:]][b, default: 0] += 1 } }
        }
        return counts
    }

    /// SplitMix64: a small generator whose sequence is fixed by its seed on every platform.
    private struct SeededGenerator {
        var state: UInt64

        init(seed: UInt64) { state = seed }

        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }
}
