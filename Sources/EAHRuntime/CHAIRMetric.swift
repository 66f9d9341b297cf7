/// CHAIR, the caption hallucination rate of Rohrbach et al. 2018 ("Object Hallucination in
/// Image Captioning"), accumulated caption by caption as the reference script (OPERA's copy)
/// computes it.
///
/// A caption's mentions are found by `ObjectVocabulary.scan`, each occurrence counted; one is
/// hallucinated when its canonical object is not among the image's ground-truth objects (the
/// annotated categories through the same list). CHAIR_I = hallucinated mentions / mentions;
/// CHAIR_S = captions with a hallucinated mention / captions; recall = per caption, the distinct
/// ground-truth objects mentioned, summed, over the ground-truth objects summed; length = tokens
/// (punctuation included, two-word objects as one) per caption. Every ratio is 0 when its
/// denominator is.
public struct CHAIRMetric: Sendable {
    /// What one caption mentions.
    public struct Caption: Sendable, Equatable {
        /// Canonical objects of every mention, in order (repeats kept).
        public let mentioned: [String]
        /// The mentions whose object is absent from the ground truth, in order (repeats kept).
        public let hallucinated: [String]
        /// The image's canonical ground-truth objects.
        public let groundTruth: Set<String>
        /// Tokens of the caption (CHAIR's length).
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
        groundTruthMentioned += Set(scored.mentioned).intersection(scored.groundTruth).count
        words += scored.words
        return scored
    }

    /// What `caption` mentions and hallucinates, without adding it.
    public func score(caption: String, groundTruth: [String]) -> Caption {
        let truth = Set(groundTruth.map(vocabulary.canonical))
        let scan = vocabulary.scan(caption)
        let mentioned = scan.mentions.map(\.object)
        return Caption(mentioned: mentioned, hallucinated: mentioned.filter { !truth.contains($0) }, groundTruth: truth, words: scan.tokens.count)
    }

    /// Hallucinated mentions over all mentions.
    public var chairI: Double { Self.ratio(hallucinatedMentions, mentions) }
    /// Captions with a hallucinated object over all captions.
    public var chairS: Double { Self.ratio(hallucinatedCaptions, captions) }
    /// Ground-truth objects mentioned over ground-truth objects.
    public var recall: Double { Self.ratio(groundTruthMentioned, groundTruthObjects) }
    /// Mean caption length in tokens.
    public var averageLength: Double { Self.ratio(words, captions) }

    static func ratio(_ part: Int, _ whole: Int) -> Double {
        whole == 0 ? 0 : Double(part) / Double(whole)
    }
}
