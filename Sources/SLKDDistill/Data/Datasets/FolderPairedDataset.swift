import Foundation
import SLKDTensor

/// Where a paired dataset keeps its degraded and clean PNGs, and how the two sides are matched.
///
/// The presets follow the folder names of the public releases as the Restormer, DRSformer and
/// Uformer data scripts leave them:
///
/// | Preset | Degraded | Clean | Matching |
/// |---|---|---|---|
/// | ``rain13K``, ``rain100``, ``test1200`` | `input` | `target` | same file name |
/// | ``goPro``, ``hide`` | `blur` | `sharp` | same file name |
/// | ``sidd`` | `noisy` | `GT` | same file name |
/// | ``siddMedium`` | root, recursive | root, recursive | `_NOISY_` ↔ `_GT_` in the name |
public struct PairedFolderLayout: Sendable, Equatable {
    /// How a degraded file finds its clean partner.
    public enum Matching: Sendable, Equatable {
        /// The same path relative to the two folders.
        case sameName
        /// The same path once `degraded` is replaced by `clean` in the file name (SIDD Medium's
        /// `0001_NOISY_SRGB_010.PNG` ↔ `0001_GT_SRGB_010.PNG`). Files whose name lacks the side's
        /// token are not part of that side, so both sides may share one folder. The original
        /// Rain100H/L release (`rain-001.png` ↔ `norain-001.png`) pairs with
        /// `.nameToken(degraded: "rain-", clean: "norain-")`.
        case nameToken(degraded: String, clean: String)
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

    /// Rain13K training set: `input/`, `target/`.
    public static let rain13K = PairedFolderLayout(degradedFolder: "input", cleanFolder: "target")
    /// Rain100H / Rain100L test sets: `input/`, `target/`.
    public static let rain100 = PairedFolderLayout(degradedFolder: "input", cleanFolder: "target")
    /// Test1200 (DID-MDN) test set: `input/`, `target/`.
    public static let test1200 = PairedFolderLayout(degradedFolder: "input", cleanFolder: "target")
    /// GoPro deblurring set: `blur/`, `sharp/`.
    public static let goPro = PairedFolderLayout(degradedFolder: "blur", cleanFolder: "sharp")
    /// HIDE deblurring test set: `blur/`, `sharp/`.
    public static let hide = PairedFolderLayout(degradedFolder: "blur", cleanFolder: "sharp")
    /// SIDD patches: `noisy/`, `GT/`.
    public static let sidd = PairedFolderLayout(degradedFolder: "noisy", cleanFolder: "GT")
    /// SIDD Medium as released: scene folders holding `*_NOISY_*` and `*_GT_*` files side by side.
    public static let siddMedium = PairedFolderLayout(
        degradedFolder: "", cleanFolder: "", matching: .nameToken(degraded: "_NOISY_", clean: "_GT_"), recursive: true)
}

/// Image pairs read from a degraded folder and a clean folder of PNG files.
///
/// The folders are scanned once, at initialisation: every degraded PNG must have a clean partner
/// and the reverse, or ``DatasetError/Reason/unmatchedFiles(degradedOnly:cleanOnly:)`` lists them
/// all by name. Files other than `.png` (any case) and hidden files are ignored. Pairs are sorted
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
    /// ``ImageIO/maximumPixelCount``).
    public var maximumPixels = ImageIO.maximumPixelCount

    /// Scans `root` with `layout`.
    ///
    /// - Throws: ``DatasetError`` when a folder is missing or holds no PNGs, or files are unmatched.
    public init(root: URL, layout: PairedFolderLayout, channels: ImageIO.Channels = .rgb) throws(DatasetError) {
        self.root = root
        self.layout = layout
        self.channels = channels
        let degradedRoot = Self.folder(root, layout.degradedFolder)
        let cleanRoot = Self.folder(root, layout.cleanFolder)
        var degradedFiles = try Self.pngFiles(in: degradedRoot, recursive: layout.recursive)
        var cleanFiles = try Self.pngFiles(in: cleanRoot, recursive: layout.recursive)

        // The matching key of each file: its relative path, with the side's token replaced.
        var degradedKeys: [String: String] = [:], cleanKeys: [String: String] = [:]
        switch layout.matching {
        case .sameName:
            for f in degradedFiles { degradedKeys[f] = f }
            for f in cleanFiles { cleanKeys[f] = f }
        case .nameToken(let dToken, let cToken):
            precondition(!dToken.isEmpty && !cToken.isEmpty && dToken != cToken,
                         "nameToken matching needs two different, non-empty tokens")
            degradedFiles = degradedFiles.filter { Self.fileName($0).contains(dToken) }
            cleanFiles = cleanFiles.filter { Self.fileName($0).contains(cToken) }
            for f in degradedFiles { degradedKeys[f] = Self.replacingToken(in: f, dToken, with: "\u{0}") }
            for f in cleanFiles { cleanKeys[f] = Self.replacingToken(in: f, cToken, with: "\u{0}") }
            if degradedFiles.isEmpty { throw DatasetError(.emptyFolder(path: degradedRoot.path)) }
            if cleanFiles.isEmpty { throw DatasetError(.emptyFolder(path: cleanRoot.path)) }
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

    /// PNG files under `folder`, as sorted relative paths.
    static func pngFiles(in folder: URL, recursive: Bool) throws(DatasetError) -> [String] {
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
                if isPNG(relative) && !isDirectoryAt(folder.appendingPathComponent(relative)) { names.append(relative) }
            }
        } else {
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            names = contents.filter { !$0.hasPrefix(".") && isPNG($0) && !isDirectoryAt(folder.appendingPathComponent($0)) }
        }
        guard !names.isEmpty else { throw DatasetError(.emptyFolder(path: folder.path)) }
        return names.sorted()
    }

    private static func isPNG(_ name: String) -> Bool { name.lowercased().hasSuffix(".png") }

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
            return try ImageIO.readPNG(at: url, channels: channels, dtype: .float32, maximumPixels: maximumPixels).pixels
        } catch {
            throw DatasetError(.unreadableImage(path: url.path, message: error.description))
        }
    }
}
