import Engine

/// What `--data DIR` points at: the Fashion-MNIST IDX files, or a folder of images (one subfolder
/// per class, or flat). IDX wins when its files are there, so the default keeps working.
enum DataSource {
    case idx(String)
    case folder(ImageFolder)

    static let help = "Data: a folder of PNG/JPEG images (one subfolder per class, class ids in sorted name order, as torchvision's ImageFolder; or all images in one folder, no labels) or a folder of Fashion-MNIST IDX files."

    static func open(_ path: String) throws -> DataSource {
        if IDXDataset.isIDXFolder(path) { return .idx(path) }
        return .folder(try ImageFolder.open(path))
    }

    /// Which layout was found, for the command's report: "DIR: image folder, one subfolder per class (...)".
    var summary: String {
        switch self {
        case .idx(let dir): return "\(dir): Fashion-MNIST IDX files"
        case .folder(let f): return f.summary
        }
    }
}

extension ImageFolder {
    /// Class folders must map onto the model's classes one to one: ids come from the sorted folder
    /// names, so a folder with fewer classes than the model would label silently wrong.
    func checkClasses(for c: ViTConfig, model: String) throws {
        guard layout == .classes, classNames.count != c.numClasses else { return }
        throw EngineError("\(root) has \(classNames.count) class folders but \(model) has \(c.numClasses) classes; class ids come from the sorted folder names, so every class needs its folder (or put the images in one flat folder: no labels, the model's own top-1 is used)")
    }
}

extension ViTModel {
    /// timm's eval transform with this model's size, crop and normalisation.
    var evalTransform: PreprocessConfig {
        PreprocessConfig(inputSize: config.imageSize, cropPct: preprocessing.cropPct, mean: preprocessing.mean,
                         std: preprocessing.std, channels: config.channels)
    }
}
