import Foundation
import SLKDTensor

/// Where a paired dataset keeps its degraded and clean images, and how the two sides are matched.
///
/// The presets follow the official directory trees (file names are examples):
///
/// | Preset | Tree | Degraded | Clean | Matching |
/// |---|---|---|---|---|
/// | ``rain13K`` | Rain13K (train), as the Restormer, MPRNet and DRSformer scripts download it | `input/1.jpg` | `target/1.jpg` | same name |
/// | ``rain100H``, ``rain100L``, ``test100``, ``test1200``, ``test2800`` | the deraining test sets, same source | `input/…` | `target/…` | same name |
/// | ``goPro`` | GOPRO_Large `train/` or `test/` as released | `GOPR0384_11_00/blur/000001.png` | `GOPR0384_11_00/sharp/000001.png` | `blur` ↔ `sharp` folder (`blur_gamma` ignored) |
/// | ``hide`` | HIDE_dataset as released | `test/test-close-ups/…`, `test/test-long-shot/…` | `GT/…` | same file name |
/// | ``sidd`` | SIDD patches as the Restormer scripts crop them | `input/…` | `target/…` | same name |
/// | ``siddMedium`` | SIDD_Medium_Srgb `Data/` as released | `…_NOISY_SRGB_010.PNG` | `…_GT_SRGB_010.PNG` | name token |
/// | ``goProPrepared``, ``hidePrepared`` | the Restormer/MPRNet downloads of the deblurring sets | `input/…` | `target/…` | same name |
///
/// Files are PNG or JPEG (told apart by content when read; `.png`, `.jpg`, `.jpeg` in any case
/// when scanned). "Same name" compares names without their extension, so `input/7.jpg` pairs
/// with `target/7.png`; two files whose names differ only in extension are refused as ambiguous.
public struct PairedFolderLayout: Sendable, Equatable {
    /// How a degraded file finds its clean partner.
    public enum Matching: Sendable, Equatable {
        /// The same path relative to the two folders, extension aside.
        case sameName
        /// The same path once `degraded` is replaced by `clean` in the file name (SIDD Medium's
        /// `0001_NOISY_SRGB_010.PNG` ↔ `0001_GT_SRGB_010.PNG`). Files whose name lacks the side's
        /// token are not part of that side, so both sides may share one folder. The original
        /// Rain100H/L release (`rain-001.png` ↔ `norain-001.png`) pairs with
        /// `.nameToken(degraded: "rain-", clean: "norain-")`.
        case nameToken(degraded: String, clean: String)
        /// The same path once the folder named `degraded` is replaced by `clean` (GoPro's
        /// `GOPR0384_11_00/blur/000001.png` ↔ `GOPR0384_11_00/sharp/000001.png`). Files under
        /// neither folder name (GoPro's `blur_gamma/`) are not part of the dataset.
        case folderToken(degraded: String, clean: String)
        /// The same file name, whatever sub-folder holds it (HIDE's `test/test-close-ups/1.png`
        /// ↔ `GT/1.png`). File names must be unique on each side.
        case fileName
    }

    /// The degraded images' folder relative to the dataset root (`""`: the root itself).
    public var degradedFolder: String
    /// The clean images' folder relative to the dataset root (`""`: the root itself).
    public var cleanFolder: String
    /// How pairs are matched.
    public var matching: Matching
    /// Whether sub-folders are searched too (names then include the sub-folder path).
    public var recursive: Bool

    public init(degradedFolder: String, cleanFolder: String, matching: Matching = .sameName, recursive: Bool = false) {
        self.degradedFolder = degradedFolder
        self.cleanFolder = cleanFolder
        self.matching = matching
        self.recursive = recursive
    }

    /// Rain13K training set: `input/`, `target/` (JPEG files).
    public static let rain13K = PairedFolderLayout(degradedFolder: "input", cleanFolder: "target")
    /// Rain100H test set: `input/`, `target/`.
    public static let rain100H = PairedFolderLayout(degradedFolder: "input", cleanFolder: "target")
    /// Rain100L test set: `input/`, `target/`.
    public static let rain100L = PairedFolderLayout(degradedFolder: "input", cleanFolder: "target")
    /// Rain100H or Rain100L (the two share one tree).
    public static let rain100 = rain100H
    /// Test100 test set: `input/`, `target/`.
    public static let test100 = PairedFolderLayout(degradedFolder: "input", cleanFolder: "target")
    /// Test1200 (DID-MDN) test set: `input/`, `target/`.
    public static let test1200 = PairedFolderLayout(degradedFolder: "input", cleanFolder: "target")
    /// Test2800 (Rain1400's test split) test set: `input/`, `target/`.
    public static let test2800 = PairedFolderLayout(degradedFolder: "input", cleanFolder: "target")
    /// GoPro as released (`GOPRO_Large/train` or `/test`): one folder per sequence holding
    /// `blur/`, `blur_gamma/` and `sharp/`; `blur` pairs with `sharp`.
    public static let goPro = PairedFolderLayout(
        degradedFolder: "", cleanFolder: "", matching: .folderToken(degraded: "blur", clean: "sharp"), recursive: true)
    /// HIDE as released (`HIDE_dataset`): blurred test images under `test/test-close-ups/` and
    /// `test/test-long-shot/`, their sharp partners in `GT/` under the same file name.
    public static let hide = PairedFolderLayout(degradedFolder: "test", cleanFolder: "GT", matching: .fileName, recursive: true)
    /// GoPro as the Restormer and MPRNet scripts download it: `input/`, `target/`.
    public static let goProPrepared = PairedFolderLayout(degradedFolder: "input", cleanFolder: "target")
    /// HIDE as the Restormer and MPRNet scripts download it: `input/`, `target/`.
    public static let hidePrepared = PairedFolderLayout(degradedFolder: "input", cleanFolder: "target")
    /// SIDD patches as the Restormer scripts crop them: `input/`, `target/`.
    public static let sidd = PairedFolderLayout(degradedFolder: "input", cleanFolder: "target")
    /// SIDD Medium as released: scene folders holding `*_NOISY_*` and `*_GT_*` files side by side.
    public static let siddMedium = PairedFolderLayout(
        degradedFolder: "", cleanFolder: "", matching: .nameToken(degraded: "_NOISY_", clean: "_GT_"), recursive: true)

    /// Every preset by the name the tool and the options files use.
    public static let presets: [(name: String, layout: PairedFolderLayout)] = [
        ("rain13k", .rain13K), ("rain100h", .rain100H), ("rain100l", .rain100L), ("rain100", .rain100),
        ("test100", .test100), ("test1200", .test1200), ("test2800", .test2800),
        ("gopro", .goPro), ("gopro-prepared", .goProPrepared), ("hide", .hide), ("hide-prepared", .hidePrepared),
        ("sidd", .sidd), ("sidd-medium", .siddMedium),
    ]
}

/// Image pairs read from a degraded folder and a clean folder of PNG or JPEG files.
///
/// The folders are scanned once, at initialisation: every degraded image must have a clean partner
/// and the reverse, or ``DatasetError/Reason/unmatchedFiles(degradedOnly:cleanOnly:)`` lists them
/// all by name. Files other than `.png`, `.jpg` and `.jpeg` (any case) and hidden files are ignored. Pairs are sorted
/// by name. The pixels are read on each ``pair(at:epoch:)`` call (no cache: Rain13K as float32
/// would need tens of gigabytes); a pair whose two images differ in size throws
/// ``DatasetError/Reason/sizeMismatch(name:degraded:clean:)`` then, or for all pairs up front
/// through ``validate()``.
public struct FolderPairedDataset: PairedDataset {
    /// One matched pair of files.
    public struct Entry: Sendable, Equatable {
        /// The degraded file's path relative to its folder: the pair's name.
        public var name: String
        public var degradedURL: URL
        public var cleanURL: URL
    }

    /// The dataset root.
    public let root: URL
    /// The layout it was read with.
    public let layout: PairedFolderLayout
    /// The channels images are decoded to (`.rgb` by default: gray files are replicated).
    public let channels: ImageIO.Channels
    /// The matched pairs, sorted by name.
    public let entries: [Entry]
    /// Images with more pixels than this are refused when read (a pixel budget; the default is
    /// `ImageIO/maximumPixelCount`).
    public var maximumPixels = ImageIO.maximumPixelCount

    /// Scans `root` with `layout`.
    ///
    /// - Throws: ``DatasetError`` when a folder is missing or holds no images, or files are
    ///   unmatched or ambiguous.
    public init(root: URL, layout: PairedFolderLayout, channels: ImageIO.Channels = .rgb) throws(DatasetError) {
        self.root = root
        self.layout = layout
        self.channels = channels
        let degradedRoot = Self.folder(root, layout.degradedFolder)
        let cleanRoot = Self.folder(root, layout.cleanFolder)
        var degradedFiles = try Self.imageFiles(in: degradedRoot, recursive: layout.recursive)
        var cleanFiles = try Self.imageFiles(in: cleanRoot, recursive: layout.recursive)

        // The matching key of each file: its relative path without extension, with the side's
        // token replaced (or only its file name).
        var degradedKeys: [String: String] = [:], cleanKeys: [String: String] = [:]
        switch layout.matching {
        case .sameName:
            for f in degradedFiles { degradedKeys[f] = Self.stem(f) }
            for f in cleanFiles { cleanKeys[f] = Self.stem(f) }
        case .fileName:
            for f in degradedFiles { degradedKeys[f] = Self.stem(Self.fileName(f)) }
            for f in cleanFiles { cleanKeys[f] = Self.stem(Self.fileName(f)) }
        case .nameToken(let dToken, let cToken):
            precondition(!dToken.isEmpty && !cToken.isEmpty && dToken != cToken,
                         "nameToken matching needs two different, non-empty tokens")
            degradedFiles = degradedFiles.filter { Self.fileName($0).contains(dToken) }
            cleanFiles = cleanFiles.filter { Self.fileName($0).contains(cToken) }
            for f in degradedFiles { degradedKeys[f] = Self.stem(Self.replacingToken(in: f, dToken, with: "\u{0}")) }
            for f in cleanFiles { cleanKeys[f] = Self.stem(Self.replacingToken(in: f, cToken, with: "\u{0}")) }
        case .folderToken(let dFolder, let cFolder):
            precondition(!dFolder.isEmpty && !cFolder.isEmpty && dFolder != cFolder,
                         "folderToken matching needs two different, non-empty folder names")
            degradedFiles = degradedFiles.filter { Self.folders($0).contains(dFolder) }
            cleanFiles = cleanFiles.filter { Self.folders($0).contains(cFolder) }
            for f in degradedFiles { degradedKeys[f] = Self.stem(Self.replacingFolder(in: f, dFolder, with: "\u{0}")) }
            for f in cleanFiles { cleanKeys[f] = Self.stem(Self.replacingFolder(in: f, cFolder, with: "\u{0}")) }
        }
        if degradedFiles.isEmpty { throw DatasetError(.emptyFolder(path: degradedRoot.path)) }
        if cleanFiles.isEmpty { throw DatasetError(.emptyFolder(path: cleanRoot.path)) }
        for (files, keys) in [(degradedFiles, degradedKeys), (cleanFiles, cleanKeys)] {
            let clashing = Dictionary(grouping: files) { keys[$0]! }.values.filter { $0.count > 1 }
            if let first = clashing.min(by: { $0[0] < $1[0] }) { throw DatasetError(.ambiguousNames(first.sorted())) }
        }
        var cleanByKey: [String: String] = [:]
        for f in cleanFiles { cleanByKey[cleanKeys[f]!] = f }
        let degradedKeySet = Set(degradedKeys.values)

        var matched: [Entry] = [], degradedOnly: [String] = []
        for f in degradedFiles {
            if let partner = cleanByKey[degradedKeys[f]!] {
                matched.append(Entry(name: f, degradedURL: degradedRoot.appendingPathComponent(f),
                                     cleanURL: cleanRoot.appendingPathComponent(partner)))
            } else {
                degradedOnly.append(f)
            }
        }
        let cleanOnly = cleanFiles.filter { !degradedKeySet.contains(cleanKeys[$0]!) }
        guard degradedOnly.isEmpty && cleanOnly.isEmpty else {
            throw DatasetError(.unmatchedFiles(degradedOnly: degradedOnly, cleanOnly: cleanOnly))
        }
        entries = matched
    }

    public var count: Int { entries.count }

    public func name(at index: Int) -> String { entries[index].name }

    public func pair(at index: Int, epoch: Int) throws(DatasetError) -> ImagePair {
        precondition(entries.indices.contains(index), "pair index \(index) out of range 0..<\(count)")
        let entry = entries[index]
        let degraded = try Self.read(entry.degradedURL, channels: channels, maximumPixels: maximumPixels)
        let clean = try Self.read(entry.cleanURL, channels: channels, maximumPixels: maximumPixels)
        guard degraded.shape == clean.shape else {
            throw DatasetError(.sizeMismatch(name: entry.name, degraded: degraded.shape, clean: clean.shape))
        }
        return ImagePair(name: entry.name, degraded: degraded, clean: clean)
    }

    /// Reads every pair once, so that size mismatches and corrupt files surface before training.
    public func validate() throws(DatasetError) {
        for i in 0..<count { _ = try pair(at: i) }
    }

    // MARK: Scanning

    static func folder(_ root: URL, _ relative: String) -> URL {
        relative.isEmpty ? root : root.appendingPathComponent(relative, isDirectory: true)
    }

    /// PNG and JPEG files under `folder`, as sorted relative paths.
    static func imageFiles(in folder: URL, recursive: Bool) throws(DatasetError) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError(.missingFolder(path: folder.path))
        }
        var names: [String] = []
        if recursive {
            guard let walker = FileManager.default.enumerator(atPath: folder.path) else {
                throw DatasetError(.missingFolder(path: folder.path))
            }
            while let relative = walker.nextObject() as? String {
                let components = relative.split(separator: "/")
                if components.contains(where: { $0.hasPrefix(".") }) { continue }
                if isImage(relative) && !isDirectoryAt(folder.appendingPathComponent(relative)) { names.append(relative) }
            }
        } else {
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            names = contents.filter { !$0.hasPrefix(".") && isImage($0) && !isDirectoryAt(folder.appendingPathComponent($0)) }
        }
        guard !names.isEmpty else { throw DatasetError(.emptyFolder(path: folder.path)) }
        return names.sorted()
    }

    private static func isImage(_ name: String) -> Bool { ImageIO.ImageFormat.isImageFileName(name) }

    /// `relative` without its file-name extension.
    private static func stem(_ relative: String) -> String {
        let name = fileName(relative)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return relative }
        return String(relative.dropLast(name.distance(from: dot, to: name.endIndex)))
    }

    /// The folder components of `relative` (all but the file name).
    private static func folders(_ relative: String) -> [String] {
        relative.split(separator: "/").dropLast().map(String.init)
    }

    /// `relative` with its first folder component equal to `folder` replaced.
    private static func replacingFolder(in relative: String, _ folder: String, with replacement: String) -> String {
        var components = relative.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if let k = components.dropLast().firstIndex(of: folder) { components[k] = replacement }
        return components.joined(separator: "/")
    }

    private static func isDirectoryAt(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    private static func fileName(_ relative: String) -> String {
        relative.split(separator: "/").last.map(String.init) ?? relative
    }

    /// `relative` with the first `token` of its file name (not of its folders) replaced.
    private static func replacingToken(in relative: String, _ token: String, with replacement: String) -> String {
        let name = fileName(relative)
        let folder = String(relative.dropLast(name.count))
        guard let range = name.range(of: token) else { return relative }
        return folder + name.replacingCharacters(in: range, with: replacement)
    }

    static func read(_ url: URL, channels: ImageIO.Channels,
                     maximumPixels: Int = ImageIO.maximumPixelCount) throws(DatasetError) -> Tensor {
        do {
            return try Tensor.readImage(at: url, channels: channels, dtype: .float32, maximumPixels: maximumPixels)
        } catch {
            throw DatasetError(.unreadableImage(path: url.path, message: error.description))
        }
    }
}
