// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "eah",
    products: [
        .library(name: "EAHCore", targets: ["EAHCore"]),
        .library(name: "EAHCheckpoint", targets: ["EAHCheckpoint"]),
        .library(name: "EAHModel", targets: ["EAHModel"]),
        .library(name: "EAHFrontEnd", targets: ["EAHFrontEnd"]),
        .library(name: "EAH", targets: ["EAH"]),
        .library(name: "EAHRuntime", targets: ["EAHRuntime"]),
        .executable(name: "eah-convert", targets: ["eah-convert"]),
        .executable(name: "eah-run", targets: ["eah-run"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // SHA-256 of bundle files (BoringSSL's SHA-NI/AVX2 code paths on Linux).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        // The OpenAI-compatible server of `eah-run --serve` (EAHServer only). No default traits:
        // neither swift-configuration nor full Foundation is needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        // Hummingbird's own dependencies, named for the types EAHServer uses (Logger, Channel).
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // zlib (Debian zlib1g-dev): CRC-32 of zip entries and inflate of deflated entries.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // libjpeg-turbo (Debian libjpeg62-turbo-dev): JPEG decoding for the image front-end.
        .systemLibrary(name: "CJPEG", providers: [.apt(["libjpeg62-turbo-dev"])]),
        // libpng (Debian libpng-dev): PNG decoding for the image front-end.
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // C calls into libjpeg/libpng whose errors longjmp (which Swift cannot survive).
        .target(name: "CImageShims", dependencies: ["CJPEG", "CPNG"], linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),
        // libprotobuf-c (Debian libprotobuf-c-dev): the runtime of the generated SentencePiece model decoder.
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        // protoc-c output for schemas/sentencepiece_model.proto (tools/generate-protos.sh).
        .target(name: "CSentencePieceProto", dependencies: ["CProtobufC"]),
        // protoc-c output for schemas/eah_manifest.proto (tools/generate-protos.sh): a bundle's manifest.
        .target(name: "CEAHManifest", dependencies: ["CProtobufC"]),
        // Async-signal-safe removal of unfinished output folders, and atomic exchange of folders.
        .target(name: "COutputCleanup"),
        // ISA-specific microkernels (portable C, AVX2, AVX-512, NEON), chosen at run time from
        // CPUID/HWCAP through per-function target attributes: no build flags, one binary per OS.
        .target(name: "CEAHKernels", linkerSettings: [.linkedLibrary("pthread", .when(platforms: [.linux]))]),
        // Tensor core: element types, weight types with their block layouts and dot products,
        // matrix products, the thread pool.
        .target(name: "EAHCore", dependencies: ["CEAHKernels"]),
        // Checkpoint formats: safetensors, GGUF, PyTorch (zip and legacy), sharded indexes, writers.
        .target(name: "EAHCheckpoint", dependencies: ["EAHCore", "CZlib", "COutputCleanup"]),
        // Model families: configs, weight naming, loading from every layout, towers and decoders, each
        // family's input processor (tokens and images in), the family-agnostic model interface.
        .target(name: "EAHModel", dependencies: ["EAHCore", "EAHCheckpoint", "EAHFrontEnd"]),
        // Model inputs: the SentencePiece tokenizer (tokenizer.model, tokenizer.json, GGUF metadata),
        // image decoding and CLIP preprocessing.
        .target(name: "EAHFrontEnd", dependencies: ["EAHCore", "EAHCheckpoint", "CSentencePieceProto", "CJPEG", "CPNG", "CImageShims",
                                                  .product(name: "Crypto", package: "swift-crypto")]),
        // EAH: vision-sink counting, the head broadcast, calibration statistics, manifest, bundles.
        .target(name: "EAH", dependencies: ["EAHCore", "EAHModel", "EAHCheckpoint", "CEAHManifest", .product(name: "Crypto", package: "swift-crypto")]),
        // The runtime: a model with its tokenizer, template and preprocessor; EAH at load time.
        .target(name: "EAHRuntime", dependencies: ["EAHCore", "EAHModel", "EAHFrontEnd", "EAH"]),
        // The OpenAI chat-completions API apart from HTTP: a request body checked into typed
        // fields, its image reference resolved to bounded bytes, stop sequences, error objects.
        .target(name: "EAHServerAPI", dependencies: ["EAHCore", "EAHCheckpoint", "EAHFrontEnd"]),
        // `eah-run --serve`: the OpenAI chat-completions API over a pipeline, on Hummingbird.
        .target(name: "EAHServer", dependencies: ["EAHCore", "EAHCheckpoint", "EAHModel", "EAHFrontEnd", "EAH", "EAHRuntime", "EAHServerAPI",
                                            .product(name: "Hummingbird", package: "hummingbird"),
                                            .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio")]),
        // What every executable shares: argument parsing entry point, exit statuses.
        .target(name: "EAHCommandLine", dependencies: ["EAHCheckpoint", "EAHCore", "EAHModel", "EAHFrontEnd", "EAH", "EAHRuntime",
                                                 .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Helpers shared by the test targets: fixture paths, temporary folders, byte builders.
        .target(name: "EAHTestSupport", dependencies: ["EAHCore", "EAHCheckpoint", "EAHModel"], path: "Sources/EAHTestSupport"),
        .executableTarget(
            name: "eah-convert",
            dependencies: ["EAHCore", "EAHCheckpoint", "EAHFrontEnd", "EAH", "EAHRuntime", "EAHCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "eah-run",
            dependencies: ["EAHModel", "EAHRuntime", "EAHServer", "EAHCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Fuzz targets for every parser of untrusted input (`make fuzz`, and the tests' replays).
        .target(name: "EAHFuzzTargets", dependencies: ["EAHCore", "EAHCheckpoint", "EAHFrontEnd", "EAHModel", "EAH", "EAHRuntime", "EAHServerAPI"]),
        // libFuzzer's driver entry point (declared only; -sanitize=fuzzer links it).
        .target(name: "CFuzzerDriver"),
        // `make fuzz`: libFuzzer over FuzzTargets when built with -sanitize=fuzzer -DEAH_FUZZING;
        // otherwise it replays input files through a target.
        .executableTarget(name: "eah-fuzz", dependencies: ["EAHCore", "EAHFuzzTargets", "CFuzzerDriver"]),
        // `make bench`: the conversion benchmark (prints JSON lines).
        .executableTarget(name: "eah-bench", dependencies: ["EAHCore", "EAHCheckpoint", "EAHModel", "EAH", "EAHFrontEnd"]),
        .testTarget(name: "EAHCoreTests", dependencies: ["EAHCore", "EAHTestSupport"]),
        .testTarget(name: "EAHCheckpointTests", dependencies: ["EAHCheckpoint", "EAHTestSupport"]),
        .testTarget(name: "EAHModelTests", dependencies: ["EAHModel", "EAHTestSupport"]),
        .testTarget(name: "EAHFrontEndTests", dependencies: ["EAHFrontEnd", "EAHTestSupport"]),
        .testTarget(name: "EAHTests", dependencies: ["EAH", "EAHModel", "EAHTestSupport"]),
        .testTarget(name: "EAHServerTests", dependencies: ["EAHServer", "EAHServerAPI", "EAHRuntime", "EAHFrontEnd", "EAH", "EAHTestSupport", "eah-run", "eah-convert"]),
        .testTarget(name: "EAHFuzzTests", dependencies: ["EAHFuzzTargets", "EAHTestSupport"]),
        .testTarget(name: "EAHConvertTests", dependencies: ["EAHCheckpoint", "EAHRuntime", "EAHTestSupport", "eah-convert", "eah-run"]),
    ]
)
