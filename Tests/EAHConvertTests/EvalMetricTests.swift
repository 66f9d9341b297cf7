import EAHCheckpoint
import EAHRuntime
import EAHTestSupport
import Testing

/// CHAIR, POPE, the object vocabulary and the annotation reader on small constructed inputs,
/// against values computed by hand from the metrics' definitions.
@Suite("Eval metrics")
struct EvalMetricTests {
    /// A small list in CHAIR's format (entries separated by ", ").
    static let synonyms = """
        person, man, woman, people
        dog, puppy
        cat, kitten

        car, automobile
        traffic light, stoplight
        hot dog
        """

    // The expected values below follow the reference script (OPERA's chair.py) rule by rule; its
    // nltk data (tokenizer, tagger, WordNet) cannot be installed here, so each rule is checked
    // on its own (README, "CHAIR", lists what remains different).

    @Test("tokens as nltk's word_tokenize splits lowercased text")
    func tokens() {
        #expect(ObjectVocabulary.tokenize("a man's dog, isn't it... 3.5 t-shirts!")
                    == ["a", "man", "'s", "dog", ",", "is", "n't", "it", "...", "3.5", "t-shirts", "!"])
        #expect(ObjectVocabulary.tokenize("two cats (and a dog).") == ["two", "cats", "(", "and", "a", "dog", ")", "."])
    }

    @Test("tokens equal nltk's (NLTKWordTokenizer per sentence, tools/make_chair_fixtures.py)")
    func tokensLikeNLTK() throws {
        let file = try MappedFile(path: Fixtures.path("eval/chair_tokens.json"))
        let document = try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
        guard case .array(let cases)? = document["cases"] else { Issue.record("no cases"); return }
        #expect(cases.count == 12)
        for item in cases {
            guard case .string(let text)? = item["text"], case .array(let tokens)? = item["tokens"] else { Issue.record("bad case"); continue }
            #expect(ObjectVocabulary.tokenize(text.lowercased()).map(JSONValue.string) == tokens, "\(text)")
        }
    }

    @Test("lemmas: WordNet's noun rules and irregular plurals, the shortest known form")
    func lemmas() {
        let chair = ObjectVocabulary.chair
        let cases = ["dogs": "dog", "buses": "bus", "glasses": "glass", "knives": "knife", "children": "child", "women": "woman",
                     "policemen": "policeman", "skis": "ski", "skiing": "ski", "ponies": "pony", "benches": "bench", "toothbrushes": "toothbrush",
                     "scissors": "scissors", "people": "people", "walks": "walks", "boxes": "boxes", "mice": "mouse", "sheep": "sheep"]
        for (token, lemma) in cases { #expect(chair.lemma(token) == lemma, "\(token)") }
    }

    @Test("two-word objects, qualifiers and the toilet-seat rule")
    func twoWordRules() {
        let chair = ObjectVocabulary.chair
        func objects(_ text: String) -> [String] { chair.scan(text).mentions.map(\.object) }
        #expect(chair.scan("Two hot dogs.").tokens == ["two", "hot dog", "."])
        #expect(objects("Two hot dogs.") == ["hot dog"])
        #expect(objects("a baby elephant and an adult cow") == ["elephant", "cow"])  // not person
        #expect(objects("a passenger train") == ["train"])
        #expect(objects("a man in a bow tie") == ["person", "tie"])
        #expect(objects("two wine glasses") == ["wine glass"])
        #expect(objects("a stop sign by the traffic lights") == ["stop sign", "traffic light"])
        #expect(objects("the seat of the toilet") == ["toilet"])
        #expect(objects("a toilet seat") == ["toilet"])
        #expect(objects("a seat") == ["chair"])
        #expect(objects("skiing down a slope") == ["skis"])
    }

    @Test("the list's quirks are kept: unmatchable entries stay unmatched")
    func listQuirks() {
        let chair = ObjectVocabulary.chair
        func objects(_ text: String) -> [String] { chair.scan(text).mentions.map(\.object) }
        #expect(chair.scan("a motor bike").tokens == ["a", "motor bike"])
        #expect(objects("a motor bike") == [])  // listed as " motor bike" (two spaces before it)
        #expect(objects("a cheesecake") == [])  // listed as " cheesecake"
        #expect(objects("an iphone") == [])  // listed as "iPhone"
        #expect(objects("a motorbike and a cupcake") == ["motorcycle", "cake"])
        #expect(chair.canonical("dining table") == "dining table" && chair.canonical("tv") == "tv")
    }

    @Test("CHAIR_I, CHAIR_S, recall and length of three captions, every mention counted")
    func chair() throws {
        var metric = CHAIRMetric(vocabulary: ObjectVocabulary.chair)
        // Ground truth {person, dog}: man → person, dogs → dog, cars → car (hallucinated).
        let first = metric.add(caption: "A man walks his dogs past two cars.", groundTruth: ["person", "dog"])
        #expect(first.mentioned == ["person", "dog", "car"])
        #expect(first.hallucinated == ["car"])
        #expect(first.words == 9)
        // Ground truth {cat}: kitten and cat are two mentions of cat, none hallucinated.
        let second = metric.add(caption: "A kitten sleeps next to a cat.", groundTruth: ["cat"])
        #expect(second.mentioned == ["cat", "cat"] && second.hallucinated.isEmpty && second.words == 8)
        // Ground truth {car, traffic light}: "hot dog" and "traffic light" are one token each.
        let third = metric.add(caption: "Hot dogs near the traffic lights.", groundTruth: ["car", "traffic light"])
        #expect(third.mentioned == ["hot dog", "traffic light"] && third.hallucinated == ["hot dog"] && third.words == 5)
        // 3 + 2 + 2 = 7 mentions, 2 hallucinated; captions 1 and 3 hallucinate.
        #expect(metric.mentions == 7 && metric.hallucinatedMentions == 2)
        #expect(metric.chairI == 2.0 / 7.0)
        #expect(metric.chairS == 2.0 / 3.0)
        // Ground-truth objects 2 + 1 + 2 = 5; mentioned {person, dog} + {cat} + {traffic light} = 4.
        #expect(metric.recall == 0.8)
        #expect(metric.averageLength == 22.0 / 3.0)
    }

    @Test("reference captions add the objects they name to an image's ground truth")
    func referenceCaptions() throws {
        let json = try JSONParser.parse(#"{"annotations": [{"image_id": 7, "caption": "Two kittens on a sofa."}, {"image_id": 7, "caption": "A cat on a couch."}, {"image_id": 9, "caption": "A red bus."}]}"#)
        let captions = try ReferenceCaptions(json: json)
        let objects = captions.objects(ObjectVocabulary.chair)
        #expect(objects[7] == ["cat", "couch"] && objects[9] == ["bus"])
        var metric = CHAIRMetric(vocabulary: ObjectVocabulary.chair)
        // "couch" is only in the reference captions: with them it is not hallucinated.
        let scored = metric.add(caption: "A cat sleeps on a sofa.", groundTruth: ["cat"] + (objects[7] ?? []))
        #expect(scored.hallucinated.isEmpty && scored.mentioned == ["cat", "couch"])
        #expect(throws: EvaluationProblem.missingKey("annotations[0].caption")) {
            try ReferenceCaptions(json: try JSONParser.parse(#"{"annotations": [{"image_id": 1}]}"#))
        }
    }

    @Test("CHAIR of no captions is 0, not NaN")
    func chairEmpty() {
        let metric = CHAIRMetric(vocabulary: ObjectVocabulary.chair)
        #expect(metric.chairI == 0 && metric.chairS == 0 && metric.recall == 0 && metric.averageLength == 0)
    }

    @Test("a synonyms file in CHAIR's format; categories the list lacks name themselves")
    func synonymFile() throws {
        let vocabulary = try ObjectVocabulary(synonyms: Self.synonyms).adding(categories: ["Widget"])
        #expect(vocabulary.objects(in: "Two women, three puppies, automobiles and a widget") == ["person", "dog", "car", "widget"])
        #expect(vocabulary.canonical("stoplight") == "traffic light")
        #expect(vocabulary.canonical("zebra") == "zebra")
        #expect(throws: EvaluationProblem.badSynonymLine(line: 2, reason: "the canonical object (the first entry) is empty")) {
            try ObjectVocabulary(synonyms: "cat, kitten\n, dog")
        }
        #expect(throws: EvaluationProblem.badSynonymLine(line: 2, reason: "the file lists no object")) {
            try ObjectVocabulary(synonyms: "\n")
        }
    }

    @Test("POPE's question, and a template with {object}")
    func questionTemplate() {
        let question = POPEMetric.Question(imageID: 1, categoryID: 2, object: "traffic light", present: true)
        #expect(question.text == "Is there a traffic light in the image?")
        #expect(question.text(template: "Is there a {object} in the image? Answer yes or no.") == "Is there a traffic light in the image? Answer yes or no.")
    }

    @Test("POPE parses answers as its evaluation does")
    func popeParsing() {
        #expect(POPEMetric.isYes("No, there is not.") == false)   // starts with "no"
        #expect(POPEMetric.isYes("Yes.") == true)                // neither "no" nor "not"
        #expect(POPEMetric.isYes("There is no cat") == false)    // the word "no"
        #expect(POPEMetric.isYes("It is not a cat") == false)    // the word "not"
        #expect(POPEMetric.isYes("Yes, a cat. There is no dog.") == true)  // only the first sentence counts
        #expect(POPEMetric.isYes("I see a snowman") == true)     // "snowman" holds "no" but is not the word
        #expect(POPEMetric.isYes("") == true)
    }

    @Test("POPE scores with yes as positive")
    func popeScores() {
        var metric = POPEMetric()
        // Present objects answered yes, yes, no → TP 2, FN 1; absent ones answered yes, no, no → FP 1, TN 2.
        for answer in ["Yes", "Yes, there is.", "No"] { metric.add(present: true, answer: answer) }
        for answer in ["Yes", "No.", "There is no such object"] { metric.add(present: false, answer: answer) }
        #expect(metric.questions == 6)
        #expect(metric.accuracy == 4.0 / 6.0)       // (TP + TN) / 6
        #expect(metric.precision == 2.0 / 3.0)      // TP / (TP + FP)
        #expect(metric.recall == 2.0 / 3.0)         // TP / (TP + FN)
        #expect(abs(metric.f1 - 2.0 / 3.0) < 1e-12) // 2PR / (P + R) with P = R
        #expect(metric.yesRatio == 0.5)             // (TP + FP) / 6
        #expect(POPEMetric().f1 == 0 && POPEMetric().accuracy == 0)
    }

    /// Categories 1 person, 2 dog, 3 cat, 4 car, 5 bus, 6 kite. Images holding each: person 3,
    /// dog 2, cat 2, car 2, bus 1, kite 1.
    static let tiny = """
        {"images": [{"id": 10, "file_name": "a.jpg"}, {"id": 11, "file_name": "b.jpg"}, {"id": 12, "file_name": "c.jpg"},
                    {"id": 13, "file_name": "d.jpg"}, {"id": 14, "file_name": "e.jpg"}],
         "annotations": [{"image_id": 10, "category_id": 1}, {"image_id": 10, "category_id": 2},
                         {"image_id": 11, "category_id": 1}, {"image_id": 11, "category_id": 4},
                         {"image_id": 12, "category_id": 1}, {"image_id": 12, "category_id": 1}, {"image_id": 12, "category_id": 4},
                         {"image_id": 12, "category_id": 5},
                         {"image_id": 13, "category_id": 3}, {"image_id": 13, "category_id": 6},
                         {"image_id": 14, "category_id": 2}, {"image_id": 14, "category_id": 3}],
         "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "cat"},
                        {"id": 4, "name": "car"}, {"id": 5, "name": "bus"}, {"id": 6, "name": "kite"}]}
        """

    static func annotations(_ text: String = tiny) throws -> COCOAnnotations {
        try COCOAnnotations(json: try JSONParser.parse(text), imagesFolder: "/images")
    }

    static func summary(_ questions: [POPEMetric.Question]) -> [String] {
        questions.map { "\($0.object)\($0.present ? "+" : "-")" }
    }

    @Test("POPE popular sampling picks the absent categories in the most images")
    func popular() throws {
        let annotations = try Self.annotations()
        let image = try #require(annotations.images.first { $0.id == 14 })
        // Image 14 holds dog, cat (one instance each: lower id first); absent person (3 images),
        // car (2), bus (1), kite (1) → person, car.
        let questions = POPEMetric.questions(for: [image], in: annotations, sampling: .popular, seed: 0)
        #expect(Self.summary(questions) == ["dog+", "person-", "cat+", "car-"])
        #expect(questions.first?.text == "Is there a dog in the image?")
        // Image 12 holds person twice, car, bus: yes person, car, bus; the 3 absent with most images:
        // dog (2), cat (2), then kite (1).
        let twelve = try #require(annotations.images.first { $0.id == 12 })
        #expect(Self.summary(POPEMetric.questions(for: [twelve], in: annotations, sampling: .popular, seed: 0))
            == ["person+", "dog-", "car+", "cat-", "bus+", "kite-"])
    }

    @Test("POPE adversarial sampling picks the absent categories co-occurring most with the image's objects")
    func adversarial() throws {
        let annotations = try Self.annotations()
        let image = try #require(annotations.images.first { $0.id == 14 })
        // Image 14 {dog, cat}: person shares image 10 with dog (1), kite image 13 with cat (1), car and
        // bus share none (0) → person, kite (tie at 1 → lower id first).
        let questions = POPEMetric.questions(for: [image], in: annotations, sampling: .adversarial, seed: 0)
        #expect(Self.summary(questions) == ["dog+", "person-", "cat+", "kite-"])
    }

    @Test("POPE random sampling is uniform over absent categories and fixed by the seed")
    func random() throws {
        let annotations = try Self.annotations()
        let first = POPEMetric.questions(for: annotations.images, in: annotations, sampling: .random, seed: 7)
        #expect(first == POPEMetric.questions(for: annotations.images, in: annotations, sampling: .random, seed: 7))
        // 2 + 2 + 3 + 2 + 2 yes questions and as many no questions.
        #expect(first.count == 22)
        for question in first where !question.present {
            let image = try #require(annotations.images.first { $0.id == question.imageID })
            #expect(image.instances[question.categoryID] == nil)
        }
        let thirteen = try #require(annotations.images.first { $0.id == 13 })
        let draws = Set((0..<20).map { seed in Self.summary(POPEMetric.questions(for: [thirteen], in: annotations, sampling: .random, seed: UInt64(seed))) })
        #expect(draws.count > 1)
    }

    @Test("images without objects get no POPE questions")
    func noObjects() throws {
        let annotations = try Self.annotations(#"{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [], "categories": [{"id": 1, "name": "cat"}]}"#)
        #expect(POPEMetric.questions(for: annotations.images, in: annotations, sampling: .popular, seed: 0).isEmpty)
    }

    @Test("annotation problems are named exactly")
    func annotationProblems() throws {
        #expect(throws: EvaluationProblem.missingKey("categories")) {
            try Self.annotations(#"{"images": [], "annotations": []}"#)
        }
        #expect(throws: EvaluationProblem.missingKey("images[0].file_name")) {
            try Self.annotations(#"{"images": [{"id": 1}], "annotations": [], "categories": []}"#)
        }
        #expect(throws: EvaluationProblem.unknownCategory(id: 99, annotation: 0)) {
            try Self.annotations(#"{"images": [{"id": 1, "file_name": "a"}], "annotations": [{"image_id": 1, "category_id": 99}], "categories": []}"#)
        }
        #expect(throws: EvaluationProblem.unknownImage(id: 2, annotation: 0)) {
            try Self.annotations(#"{"images": [{"id": 1, "file_name": "a"}], "annotations": [{"image_id": 2, "category_id": 1}], "categories": [{"id": 1, "name": "cat"}]}"#)
        }
        #expect(throws: EvaluationProblem.duplicateID(list: "images", id: 1)) {
            try Self.annotations(#"{"images": [{"id": 1, "file_name": "a"}, {"id": 1, "file_name": "b"}], "annotations": [], "categories": []}"#)
        }
        #expect(throws: EvaluationProblem.noImages) {
            try Self.annotations(#"{"images": [], "annotations": [], "categories": []}"#)
        }
        #expect(throws: EvaluationProblem.missingKey("annotations[0].category_id")) {
            try Self.annotations(#"{"images": [{"id": 1, "file_name": "a"}], "annotations": [{"image_id": 1, "category_id": "cat"}], "categories": []}"#)
        }
    }

    @Test("a missing image file and malformed JSON are reported with the file")
    func fileProblems() throws {
        let folder = TemporaryDirectory()
        let path = folder.write("bad.json", Array(#"{"images": ["#.utf8))
        do {
            _ = try COCOAnnotations(path: path)
            Issue.record("malformed JSON was accepted")
        } catch {
            #expect(error.path == path)
            guard case .malformedJSON? = error.problem as? EvaluationProblem else { Issue.record("\(error)"); return }
        }
        let good = folder.write("ok.json", Array(#"{"images": [{"id": 1, "file_name": "x.jpg"}], "annotations": [], "categories": []}"#.utf8))
        let annotations = try COCOAnnotations(path: good)
        #expect(annotations.imagesFolder == folder.path)
        do {
            try annotations.checkFiles(annotations.images)
            Issue.record("a missing image was accepted")
        } catch {
            #expect(error.problem as? EvaluationProblem == .missingImage("x.jpg"))
            #expect(error.path == folder.file("x.jpg"))
        }
    }
}
