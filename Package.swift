// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "eah",
    products: [
        .library(name: "EAHCore", targets: ["EAHCore"]),
        .library(name: "EAHCheckpoint", targets: ["EAHCheckpoint"]),
        .library(name: "EAHModel", targets: ["EAHModel"]),
        .executable(name: "eah-convert", targets: ["eah-convert"]),
        .executable(name: "eah-run", targets: ["eah-run"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // zlib (Debian zlib1g-dev): CRC-32 of zip entries and inflate of deflated entries.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // libprotobuf-c (Debian libprotobuf-c-dev): the runtime of the generated SentencePiece model decoder.
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        // protoc-c output for schemas/sentencepiece_model.proto (tools/generate-protos.sh).
        .target(name: "CSentencePieceProto", dependencies: ["CProtobufC"]),
        // Tensor core: element types, half/bfloat conversion, ggml quant blocks.
        .target(name: "EAHCore"),
        // Checkpoint formats: safetensors, GGUF, PyTorch (zip and legacy), sharded indexes, writers.
        .target(name: "EAHCheckpoint", dependencies: ["EAHCore", "CZlib"]),
        // Models: LLaVA configs, the weight-name table, loading from every layout, the forward pass.
        .target(name: "EAHModel", dependencies: ["EAHCore", "EAHCheckpoint"]),
        // Model inputs: the SentencePiece tokenizer (tokenizer.model, tokenizer.json, GGUF metadata).
        .target(name: "EAHFrontEnd", dependencies: ["EAHCheckpoint", "CSentencePieceProto"]),
        // What every executable shares: argument parsing entry point, exit statuses.
        .target(name: "EAHCommandLine", dependencies: ["EAHCheckpoint", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Helpers shared by the test targets: fixture paths, temporary folders, byte builders.
        .target(name: "EAHTestSupport", dependencies: ["EAHCore", "EAHCheckpoint", "EAHModel"], path: "Sources/EAHTestSupport"),
        .executableTarget(
            name: "eah-convert",
            dependencies: ["EAHCheckpoint", "EAHCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "eah-run",
            dependencies: ["EAHModel", "EAHCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // `make bench`: the conversion benchmark (prints JSON lines).
        .executableTarget(name: "eah-bench", dependencies: ["EAHCheckpoint"]),
        .testTarget(name: "EAHCoreTests", dependencies: ["EAHCore", "EAHTestSupport"]),
        .testTarget(name: "EAHCheckpointTests", dependencies: ["EAHCheckpoint", "EAHTestSupport"]),
        .testTarget(name: "EAHModelTests", dependencies: ["EAHModel", "EAHTestSupport"]),
        .testTarget(name: "EAHFrontEndTests", dependencies: ["EAHFrontEnd", "EAHTestSupport"]),
        .testTarget(name: "EAHConvertTests", dependencies: ["EAHCheckpoint", "EAHTestSupport", "eah-convert", "eah-run"]),
    ]
)
