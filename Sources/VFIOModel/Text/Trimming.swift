extension StringProtocol {
    package var trimmingSpaces: Substring {
        let text = Substring(self)
        let utf8 = text.utf8
        func blank(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\n") }
        var start = utf8.startIndex
        var end = utf8.endIndex
        while start < end, blank(utf8[start]) { start = utf8.index(after: start) }
        while end > start, blank(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        return text[start..<end]
    }
}
