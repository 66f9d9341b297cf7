import EAH
import EAHCheckpoint
import EAHModel

/// Runs a model pipeline over annotated images for CHAIR captions or POPE answers.
///
/// Decoding is greedy and stops at EOS (or after `maxTokens`); `hook` is the EAH hook of the
/// `ModelSource` (nil for `--no-eah`, a baked bundle or a plain model). Each image is decoded and
/// preprocessed once; a POPE question asked again by another sampling reuses its answer, since
/// greedy decoding gives the same one. `progress` gets (done, total) in images.
public final class Evaluator {
    /// One image's caption and what CHAIR made of it.
    public struct CaptionRecord: Sendable {
        public let image: COCOAnnotations.Image
        public let caption: String
        public let score: CHAIRMetric.Caption
    }

    /// One POPE question, the model's answer, and how POPE parsed it.
    public struct AnswerRecord: Sendable {
        public let sampling: POPEMetric.Sampling
        public let question: POPEMetric.Question
        public let text: String
        public let answer: String
        public let saidYes: Bool
    }

    public let pipeline: ModelPipeline
    public let hook: EAHAttentionHook?
    public let maxTokens: Int

    public init(pipeline: ModelPipeline, hook: EAHAttentionHook?, maxTokens: Int) {
        self.pipeline = pipeline
        self.hook = hook
        self.maxTokens = maxTokens
    }

    /// The greedy answer to `question` about `picture` (the image at `image`), without its stop token.
    public func answer(question: String, picture: PreparedImage, image: String) throws(CheckpointError) -> String {
        let prompt = try pipeline.prompt(question: question, images: [picture], imagePath: image)
        let room = try ContextWindow.tokensAfter(prompt, requested: maxTokens, shape: pipeline.shape, source: "prompt")
        let result: GenerationResult
        do throws(ModelProblem) {
            result = try pipeline.model.generate(prompt, images: [picture], maxTokens: room, sampling: .greedy,
                                                 stopTokens: pipeline.stopTokens, hook: hook)
        } catch {
            throw CheckpointError(path: image, problem: error)
        }
        let ids = result.tokens.filter { !pipeline.stopTokens.contains($0) }
        return (try? pipeline.tokenizer.decode(ids)) ?? ""
    }

    /// CHAIR over `images`: one caption per image for `prompt`. `extraObjects` adds ground-truth
    /// objects per image id (those of COCO's reference captions, as CHAIR's script does).
    public func chair(images: [COCOAnnotations.Image], annotations: COCOAnnotations, vocabulary: ObjectVocabulary, prompt: String,
                      extraObjects: [Int: [String]] = [:],
                      progress: (Int, Int) -> Void = { _, _ in }) throws(CheckpointError) -> (metric: CHAIRMetric, captions: [CaptionRecord]) {
        var metric = CHAIRMetric(vocabulary: vocabulary)
        var records: [CaptionRecord] = []
        for (index, image) in images.enumerated() {
            let path = annotations.path(of: image)
            let caption = try answer(question: prompt, picture: try pipeline.image(path: path), image: path)
            let score = metric.add(caption: caption, groundTruth: annotations.objectNames(of: image) + (extraObjects[image.id] ?? []))
            records.append(CaptionRecord(image: image, caption: caption, score: score))
            progress(index + 1, images.count)
        }
        return (metric, records)
    }

    /// POPE over `images` for each of `samplings` (in that order), with every question's answer.
    public func pope(images: [COCOAnnotations.Image], annotations: COCOAnnotations, samplings: [POPEMetric.Sampling], seed: UInt64,
                     questionTemplate: String = POPEMetric.defaultTemplate, progress: (Int, Int) -> Void = { _, _ in })
        throws(CheckpointError) -> (metrics: [(POPEMetric.Sampling, POPEMetric)], answers: [AnswerRecord]) {
        let questions = samplings.map { POPEMetric.questions(for: images, in: annotations, sampling: $0, seed: seed) }
        var asked: [Int: Set<Int>] = [:]
        for question in questions.joined() { asked[question.imageID, default: []].insert(question.categoryID) }
        var answers: [Int: [Int: String]] = [:]
        for (index, image) in images.enumerated() {
            if let asked = asked[image.id] {
                let path = annotations.path(of: image)
                let picture = try pipeline.image(path: path)
                for category in asked.sorted() {
                    let object = annotations.name(of: category) ?? String(category)
                    let question = POPEMetric.Question(imageID: image.id, categoryID: category, object: object, present: false)
                    answers[image.id, default: [:]][category] = try answer(question: question.text(template: questionTemplate), picture: picture,
                                                                          image: path)
                }
            }
            progress(index + 1, images.count)
        }
        var records: [AnswerRecord] = []
        let metrics = zip(samplings, questions).map { sampling, list in
            var metric = POPEMetric()
            for question in list {
                let answer = answers[question.imageID]?[question.categoryID] ?? ""
                let yes = metric.add(present: question.present, answer: answer)
                records.append(AnswerRecord(sampling: sampling, question: question, text: question.text(template: questionTemplate), answer: answer, saidYes: yes))
            }
            return (sampling, metric)
        }
        return (metrics, records)
    }
}
