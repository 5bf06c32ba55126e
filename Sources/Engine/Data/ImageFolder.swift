// A folder of images as a data set, in one of the two layouts people keep them in:
//
//   classes  torchvision's ImageFolder: one subfolder per class, class ids in sorted name order
//            (so ImageNet's n01440764/ ... n15075141/ gives ImageNet's class ids); the images of
//            a class are every file below its folder, at any depth.
//   flat     images directly in the folder, no labels.
//
// Which files are images, and their order, follow torchvision exactly, so that image i here is
// sample i of `torchvision.datasets.ImageFolder(root)`: an image is a file whose name ends in one
// of torchvision's IMG_EXTENSIONS (any case); class folders are sorted, and inside each the
// folders are ordered by their path and files by name, by Unicode code point (Python's sorted(), which
// is byte order of UTF-8, not Swift's String order). Two deliberate differences: folder names
// starting with "." are not classes (.ipynb_checkpoints, .DS_Store folders), and a class folder
// with no images is an error naming it, as torchvision's is. Files torchvision lists that we do not
// decode (.webp, .bmp, ...) stay in the list and are reported as unreadable when read, so no file
// is skipped silently.
//
// The listing only looks at names; nothing is opened until the images are read (ImageStream).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct ImageFolder: Sendable {
    public enum Layout: String, Sendable { case classes, flat }

    public let root: String
    public let layout: Layout
    /// Class names in id order (the sorted subfolder names); empty for a flat folder.
    public let classNames: [String]
    /// Every image, in torchvision's order.
    public let files: [String]
    /// `labels[i]` is the class id of `files[i]`; nil for a flat folder.
    public let labels: [Int]?
    /// Image files directly in a class-layout root (torchvision ignores them, and so do we: said in `summary`).
    public let ignoredTopLevel: Int

    /// torchvision.datasets.folder.IMG_EXTENSIONS.
    public static let imageExtensions = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"]

    public var count: Int { files.count }
    public var isLabelled: Bool { labels != nil }

    /// One line for the user: which layout was found and what it holds.
    public var summary: String {
        switch layout {
        case .classes:
            return "\(root): image folder, one subfolder per class (\(classNames.count) classes, \(count) images" +
                (ignoredTopLevel > 0 ? "; \(ignoredTopLevel) images directly in the folder ignored" : "") + ")"
        case .flat:
            return "\(root): flat image folder, no labels (\(count) images)"
        }
    }

    /// Lists `path` (a folder). Throws `EngineError` with one line for a missing path, a file, an
    /// empty folder or an empty class folder.
    public static func open(_ path: String) throws -> ImageFolder {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw EngineError("\(path): \(String(cString: strerror(errno))); give a folder of images or the Fashion-MNIST IDX folder")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw EngineError("\(path): not a folder; --data wants a folder of PNG or JPEG images (one subfolder per class, or all in one folder) or the folder of IDX files")
        }
        let (dirs, plain) = try entries(path)
        let topImages = plain.filter(isImageName)
        let classDirs = dirs.filter { !$0.hasPrefix(".") }
        if classDirs.isEmpty {
            guard !topImages.isEmpty else {
                throw EngineError("\(path): no images (no file ending in .png, .jpg or .jpeg, no class subfolders, no IDX files); give a folder of images")
            }
            return ImageFolder(root: path, layout: .flat, classNames: [], files: topImages.map { join(path, $0) },
                               labels: nil, ignoredTopLevel: 0)
        }
        var files: [String] = [], labels: [Int] = []
        for (id, name) in classDirs.enumerated() {
            let dir = join(path, name)
            let found = try walk(dir)
            guard !found.isEmpty else {
                throw EngineError("\(dir): class folder with no images (class \(id) of \(classDirs.count)); add images or remove the folder (class ids come from the sorted folder names)")
            }
            files += found
            labels += repeatElement(id, count: found.count)
        }
        return ImageFolder(root: path, layout: .classes, classNames: classDirs, files: files, labels: labels,
                           ignoredTopLevel: topImages.count)
    }

    /// A flat listing of files named elsewhere (e.g. on a command line), for `ImageStream`.
    public init(listing files: [String]) {
        self.init(root: "", layout: .flat, classNames: [], files: files, labels: nil, ignoredTopLevel: 0)
    }

    init(root: String, layout: Layout, classNames: [String], files: [String], labels: [Int]?, ignoredTopLevel: Int) {
        self.root = root; self.layout = layout; self.classNames = classNames
        self.files = files; self.labels = labels; self.ignoredTopLevel = ignoredTopLevel
    }

    /// `file` relative to the root: "n01440764/ILSVRC2012_val_00000293.JPEG".
    public func relativePath(_ file: String) -> String {
        let prefix = Self.join(root, "")
        return file.hasPrefix(prefix) ? String(file.dropFirst(prefix.count)) : file
    }

    /// The first `n` images in the listing order (all when n >= count).
    public func prefix(_ n: Int) -> ImageFolder { select(Array(0..<max(0, min(n, count)))) }

    /// The images at `indices`, in that order (class names unchanged, so ids stay the same).
    public func select(_ indices: [Int]) -> ImageFolder {
        ImageFolder(root: root, layout: layout, classNames: classNames, files: indices.map { files[$0] },
                    labels: labels.map { l in indices.map { l[$0] } }, ignoredTopLevel: ignoredTopLevel)
    }

    public static func isImageName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return imageExtensions.contains { lower.hasSuffix($0) }
    }

    /// Python's sorted() on str: code point order, which is UTF-8 byte order.
    static func pythonSorted(_ names: [String]) -> [String] {
        names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// Subfolders and other entries of `dir`, each sorted. Symbolic links are followed, as
    /// os.scandir's is_dir() and os.walk(followlinks=True) in torchvision's make_dataset do.
    static func entries(_ dir: String) throws -> (dirs: [String], files: [String]) {
        guard let d = opendir(dir) else {
            throw EngineError("\(dir): cannot list it (\(String(cString: strerror(errno)))); check its permissions")
        }
        defer { closedir(d) }
        var dirs: [String] = [], files: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            var st = stat()
            guard stat(join(dir, name), &st) == 0 else { files.append(name); continue }  // dangling link: a file that will not read
            if (st.st_mode & S_IFMT) == S_IFDIR { dirs.append(name) } else { files.append(name) }
        }
        return (pythonSorted(dirs), pythonSorted(files))
    }

    /// torchvision make_dataset for one class: `for root, _, fnames in sorted(os.walk(dir))`, then
    /// `sorted(fnames)`; sorting the walk's tuples orders the folders by their whole path string.
    static func walk(_ dir: String) throws -> [String] {
        var folders: [(path: String, images: [String])] = []
        func visit(_ d: String, _ depth: Int) throws {
            guard depth < 32 else { throw EngineError("\(d): folders nested more than 32 deep (a symbolic link loop?)") }
            let (dirs, files) = try entries(d)
            folders.append((d, files.filter(isImageName).map { join(d, $0) }))
            for sub in dirs { try visit(join(d, sub), depth + 1) }
        }
        try visit(dir, 0)
        folders.sort { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        return folders.flatMap(\.images)
    }

    static func join(_ dir: String, _ name: String) -> String { dir.hasSuffix("/") ? dir + name : dir + "/" + name }
}
