// swift-tools-version: 6.0
// TokenScope: a terminal explorer for token compression in Vision Transformers.
import PackageDescription

let package = Package(
    name: "TokenScope",
    products: [
        .executable(name: "tokenscope", targets: ["tokenscope"]),
        .library(name: "Engine", targets: ["Engine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        // System libraries: a module map and a shim header each, nothing else.
        // oneDNN (no pkg-config file): every matrix product, by its JIT kernels for the CPU at hand.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CLibPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // libjpeg-turbo's libjpeg API, the library Pillow decodes JPEG with (see CJPEGGuard).
        .systemLibrary(name: "CLibJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CNCursesW", providers: [.apt(["libncursesw5-dev"])]),
        // Restores the terminal on a crash while curses owns it (holds state, so a real C target).
        .target(name: "CTermGuard", dependencies: ["CNCursesW"], linkerSettings: [.linkedLibrary("ncursesw")]),

        // Calls libjpeg with an error_exit that longjmps back (the default one exits the process).
        .target(name: "CJPEGGuard", dependencies: ["CLibJPEG"], linkerSettings: [.linkedLibrary("jpeg")]),

        // Elementwise exp/erf kernels compiled for several ISAs, picked at load time (see its header).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // The engine: tensors, ops, the ViT model, checkpoints and images. Knows nothing of terminals.
        .target(
            name: "Engine",
            dependencies: [
                "CDNNL", "CLibPNG", "CJPEGGuard", "CZlib", "CKernels",
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
        // Token compression on top of the engine: gradient-weighted scores, Prune and Merge, baselines.
        .target(name: "Compression", dependencies: ["Engine"]),
        // The explorer: state, analysis and drawing into a cell buffer. Knows nothing of ncurses.
        .target(name: "Explorer", dependencies: ["Engine", "Compression"]),
        // The ncurses backend: copies a cell buffer to the screen and reads keys, nothing more.
        .target(name: "TerminalUI", dependencies: ["Explorer", "CNCursesW", "CTermGuard"]),
        // The command-line tool: one file per subcommand, thin.
        .executableTarget(
            name: "tokenscope",
            dependencies: [
                "Engine", "Compression", "Explorer", "TerminalUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fuzz targets for every parser and the explorer's key reducer (`.ci/fuzz`); a plain build
        // replays files through them (the regression tests).
        .executableTarget(name: "tokenscope-fuzz", dependencies: ["Engine", "Compression", "Explorer"], path: "Sources/FuzzTargets"),
        .testTarget(name: "EngineTests", dependencies: ["Engine"]),
        .testTarget(name: "CompressionTests", dependencies: ["Compression", "Engine"]),
        .testTarget(name: "ExplorerTests", dependencies: ["Explorer", "Compression", "Engine"]),
        // Drives the release binary (build it first: see the README's test command).
        .testTarget(name: "CLITests", dependencies: ["Engine"]),
    ]
)
