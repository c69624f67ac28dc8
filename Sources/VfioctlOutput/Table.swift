import VFIOModel

/// A plain text table: left-aligned columns separated by two spaces, the last column unpadded.
package struct Table {
    package var header: [String]
    package var rows: [[String]] = []

    package init(_ header: [String]) {
        self.header = header
    }

    package mutating func add(_ row: [String]) {
        rows.append(row)
    }

    /// - Parameter style: applied to a whole rendered row (e.g. colour), by row index; -1 is the header.
    package func render(style: (Int, String) -> String = { $1 }) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func format(_ row: [String]) -> String {
            var line = ""
            for (i, cell) in row.enumerated() {
                if i == row.count - 1 {
                    line += cell
                } else {
                    line += cell + String(repeating: " ", count: widths[i] - cell.count + 2)
                }
            }
            while line.last == " " { line.removeLast() }
            return line
        }
        var out = style(-1, format(header)) + "\n"
        out.reserveCapacity(rows.count * 100)
        for (i, row) in rows.enumerated() { out += style(i, format(row)) + "\n" }
        return out
    }
}

/// ANSI colours, only when the console is a terminal and colour is not turned off.
package enum Paint {
    package static func green(_ s: String, _ on: Bool) -> String { on ? "\u{1B}[32m" + s + "\u{1B}[0m" : s }
    package static func red(_ s: String, _ on: Bool) -> String { on ? "\u{1B}[31m" + s + "\u{1B}[0m" : s }
    package static func bold(_ s: String, _ on: Bool) -> String { on ? "\u{1B}[1m" + s + "\u{1B}[0m" : s }
    package static func dim(_ s: String, _ on: Bool) -> String { on ? "\u{1B}[2m" + s + "\u{1B}[0m" : s }
}
