/// CHAIR, the caption hallucination rate of Rohrbach et al. 2018 ("Object Hallucination in
/// Image Captioning"), accumulated caption by caption.
///
/// A caption's mentioned objects are the canonical objects whose synonyms it contains, each
/// counted once per caption; an object is hallucinated when it is mentioned but not among the
/// image's ground-truth objects (category names mapped through the same vocabulary).
/// CHAIR_I = hallucinated mentions / all mentions; CHAIR_S = captions with at least one
/// hallucinated object / captions; recall = ground-truth objects mentioned / ground-truth
/// objects; plus the mean caption length in words. Every ratio is 0 when its denominator is.
public struct CHAIRMetric: Sendable {
    /// What one caption mentions.
    public struct Caption: Sendable, Equatable {
        /// Canonical objects in order of first mention.
        public let mentioned: [String]
        /// The mentioned objects absent from the ground truth.
        public let hallucinated: [String]
        /// The image's canonical ground-truth objects.
        public let groundTruth: Set<String>
        public let words: Int
    }

    public let vocabulary: ObjectVocabulary
    public private(set) var captions = 0
    public private(set) var mentions = 0
    public private(set) var hallucinatedMentions = 0
    public private(set) var hallucinatedCaptions = 0
    public private(set) var groundTruthObjects = 0
    public private(set) var groundTruthMentioned = 0
    public private(set) var words = 0

    public init(vocabulary: ObjectVocabulary) {
        self.vocabulary = vocabulary
    }

    /// Scores `caption` of an image whose annotated categories are `groundTruth` (names) and adds it.
    @discardableResult
    public mutating func add(caption: String, groundTruth: [String]) -> Caption {
        let scored = score(caption: caption, groundTruth: groundTruth)
        captions += 1
        mentions += scored.mentioned.count
        hallucinatedMentions += scored.hallucinated.count
        if !scored.hallucinated.isEmpty { hallucinatedCaptions += 1 }
        groundTruthObjects += scored.groundTruth.count
        groundTruthMentioned += scored.mentioned.filter(scored.groundTruth.contains).count
        words += scored.words
        return scored
    }

    /// What `caption` mentions and hallucinates, without adding it.
    public func score(caption: String, groundTruth: [String]) -> Caption {
        let truth = Set(groundTruth.map(vocabulary.canonical))
        let mentioned = vocabulary.objects(in: caption)
        return Caption(mentioned: mentioned, hallucinated: mentioned.filter { !truth.contains($0) }, groundTruth: truth,
                       words: ObjectVocabulary.words(caption).count)
    }

    /// Hallucinated mentions over all mentions.
    public var chairI: Double { Self.ratio(hallucinatedMentions, mentions) }
    /// Captions with a hallucinated object over all captions.
    public var chairS: Double { Self.ratio(hallucinatedCaptions, captions) }
    /// Ground-truth objects mentioned over ground-truth objects.
    public var recall: Double { Self.ratio(groundTruthMentioned, groundTruthObjects) }
    /// Mean caption length in words.
    public var averageLength: Double { Self.ratio(words, captions) }

    static func ratio(_ part: Int, _ whole: Int) -> Double {
        whole == 0 ? 0 : Double(part) / Double(whole)
    }
}
