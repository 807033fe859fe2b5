/// A linear pre-scan of YAML text that bounds how deeply its collections can nest, run before the
/// text reaches Yams: Yams composes nodes recursively, so 10,000 nested `[` overflow the stack.
///
/// The scan over-estimates rather than parses. A line's depth is the number of open block
/// indentation levels, plus the block indicators (`- `, `? `, `: `) on the line itself (compact
/// nesting such as `- - - x`), plus the open flow brackets. Quoted text, comments and block scalars
/// (`|`, `>`) are skipped. An over-estimate can only refuse a file, never let a deep one through.
enum YAMLNestingScan {
    /// The deepest nesting found and the 1-based line where it first exceeded `limit`, if it did.
    struct Result: Equatable {
        var maximumDepth: Int
        var firstLineOverLimit: Int?
    }

    static func scan(_ text: String, limit: Int) -> Result {
        var indents: [Int] = []         // open block levels' indentation
        var flow = 0                    // open [ and { across lines
        var blockScalarIndent: Int?     // the parent indentation while inside | or > text
        var quote: UInt8?               // an open ' or " (flow scalars may span lines)
        var result = Result(maximumDepth: 0, firstLineOverLimit: nil)
        var lineNumber = 0
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let bytes = Array(line)
            let indent = bytes.prefix { $0 == UInt8(ascii: " ") }.count
            let blank = bytes.dropFirst(indent).allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
            if let parent = blockScalarIndent {
                if blank || indent > parent { continue }
                blockScalarIndent = nil
            }
            if blank { continue }
            if flow == 0 && quote == nil {
                if bytes[indent] == UInt8(ascii: "#") { continue }
                while let last = indents.last, last >= indent { indents.removeLast() }
                indents.append(indent)
            }
            var indicators = 0
            // The deepest flow level reached on the line: `[[[…]]]` closes on the line it opens.
            var deepestFlow = flow
            var i = indent
            var previousIsSpace = true
            while i < bytes.count {
                let b = bytes[i]
                if let q = quote {
                    if b == q {
                        // '' is an escaped quote inside single quotes.
                        if q == UInt8(ascii: "'"), i + 1 < bytes.count, bytes[i + 1] == q { i += 2; continue }
                        quote = nil
                    } else if b == UInt8(ascii: "\\"), q == UInt8(ascii: "\"") {
                        i += 1
                    }
                    i += 1
                    continue
                }
                let next: UInt8 = i + 1 < bytes.count ? bytes[i + 1] : UInt8(ascii: " ")
                let nextIsSpace = next == UInt8(ascii: " ") || next == UInt8(ascii: "\t") || next == UInt8(ascii: "\r")
                // (A `where` after several case patterns would guard only the last, hence the ifs.)
                if b == UInt8(ascii: "#") && previousIsSpace {
                    break
                } else if (b == UInt8(ascii: "'") || b == UInt8(ascii: "\"")) && (previousIsSpace || flow > 0) {
                    quote = b
                } else if b == UInt8(ascii: "[") || b == UInt8(ascii: "{") {
                    flow += 1
                    deepestFlow = Swift.max(deepestFlow, flow)
                } else if b == UInt8(ascii: "]") || b == UInt8(ascii: "}") {
                    flow = Swift.max(0, flow - 1)
                } else if (b == UInt8(ascii: "-") || b == UInt8(ascii: "?")) && previousIsSpace && nextIsSpace {
                    indicators += 1
                } else if b == UInt8(ascii: ":") && nextIsSpace {
                    indicators += 1
                }
                previousIsSpace = b == UInt8(ascii: " ") || b == UInt8(ascii: "\t")
                i += 1
            }
            let depth = indents.count + indicators + deepestFlow
            if depth > result.maximumDepth { result.maximumDepth = depth }
            if depth > limit && result.firstLineOverLimit == nil { result.firstLineOverLimit = lineNumber }
            // `key: |`, `- >-`, `|2`: the following more-indented lines are text.
            if quote == nil, flow == 0, opensBlockScalar(bytes) { blockScalarIndent = indent }
            if result.firstLineOverLimit != nil { break }
        }
        return result
    }

    /// Whether the line ends in a block scalar header (`|`, `>`, with optional chomping and
    /// indentation indicators), ignoring a trailing comment.
    private static func opensBlockScalar(_ bytes: [UInt8]) -> Bool {
        var end = bytes.count
        if let hash = bytes.firstIndex(of: UInt8(ascii: "#")), hash > 0, bytes[hash - 1] == UInt8(ascii: " ") { end = hash }
        var header = bytes[..<end].reversed().drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }
        // Chomping (+/-) and indentation (digit) indicators follow the | or >.
        while let c = header.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) {
            header = header.dropFirst()
        }
        guard let c = header.first, c == UInt8(ascii: "|") || c == UInt8(ascii: ">") else { return false }
        let before = header.dropFirst().first
        return before == nil || before == UInt8(ascii: " ") || before == UInt8(ascii: "\t")
    }
}
