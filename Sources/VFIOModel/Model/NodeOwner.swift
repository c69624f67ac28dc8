/// Who a device's VFIO nodes belong to (`bind --owner USER[:GROUP]`): the group node
/// `/dev/vfio/N` and the device's cdev `/dev/vfio/devices/vfioX`, never the container
/// `/dev/vfio/vfio`. Without a group the nodes are `user:root` mode 0600; with one, 0660.
public struct NodeOwner: Sendable, Hashable, Codable {
    /// The user's name from the passwd file, or the number when it has no entry.
    public var user: String
    public var uid: UInt32
    /// The group's name, or nil when none was asked for (then the group is root, gid 0).
    @Nullable public var group: String?
    public var gid: UInt32
    /// 0o600, or 0o660 with a group.
    public var mode: UInt32

    public init(user: String, uid: UInt32, group: String?, gid: UInt32) {
        self.user = user
        self.uid = uid
        self.group = group
        self.gid = group == nil ? 0 : gid
        self.mode = group == nil ? 0o600 : 0o660
    }

    /// What the kernel makes a node (vfio_devnode sets no mode): root:root 0600.
    public static let kernelDefault = NodeOwner(user: "root", uid: 0, group: nil, gid: 0)

    /// `USER` or `USER:GROUP`, as given back to the user.
    public var description: String { group.map { user + ":" + $0 } ?? user }

    /// The mode in octal, `0600`.
    public var modeText: String { Self.octal(mode) }

    public static func octal(_ mode: UInt32) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// `--owner USER[:GROUP]` as typed, before it is looked up.
public struct OwnerSpec: Sendable, Hashable {
    public var user: String
    public var group: String?

    public init(user: String, group: String? = nil) {
        self.user = user
        self.group = group
    }

    /// - Throws: `.usage` for an empty user or group, more than one `:`, or characters no
    ///   user name has (whitespace, `/`, control characters).
    public static func parse(_ text: String) throws(VFIOError) -> OwnerSpec {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, let user = parts.first, !user.isEmpty, parts.count == 1 || !parts[1].isEmpty else {
            throw .usage("invalid --owner '\(UntrustedText.printable(text))': expected USER or USER:GROUP (names or numeric ids)", target: "--owner")
        }
        for name in parts where !isPlausibleName(name) {
            throw .usage("invalid --owner '\(UntrustedText.printable(text))': '\(UntrustedText.printable(name))' is not a user or group name", target: "--owner")
        }
        return OwnerSpec(user: user, group: parts.count == 2 ? parts[1] : nil)
    }

    static func isPlausibleName(_ name: String) -> Bool {
        name.utf8.count <= 64 && name.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7f && $0 != "/" && $0 != ":" }
    }

    public var description: String { group.map { user + ":" + $0 } ?? user }
}

/// The host's users and groups as `/etc/passwd` and `/etc/group` list them (under the root
/// prefix, so a chroot's own database is used). Parsing is pure; reading is `UserDatabase.read`.
public struct UserDatabase: Sendable, Equatable {
    public struct User: Sendable, Equatable {
        public var name: String
        public var uid: UInt32
        public var gid: UInt32
    }

    public struct Group: Sendable, Equatable {
        public var name: String
        public var gid: UInt32
        /// The users listed as members (the fourth field).
        public var members: [String] = []
    }

    public var users: [User]
    public var groups: [Group]

    public init(users: [User] = [], groups: [Group] = []) {
        self.users = users
        self.groups = groups
    }

    /// Parses passwd (`name:x:uid:gid:…`) and group (`name:x:gid:members`) text. Comments,
    /// blank lines, NIS `+`/`-` lines and malformed lines are skipped.
    public static func parse(passwd: String, group: String) -> UserDatabase {
        var db = UserDatabase()
        for fields in entries(passwd, minimumFields: 4) {
            guard let uid = UInt32(fields[2]), let gid = UInt32(fields[3]) else { continue }
            db.users.append(User(name: fields[0], uid: uid, gid: gid))
        }
        for fields in entries(group, minimumFields: 3) {
            guard let gid = UInt32(fields[2]) else { continue }
            let members = fields.count > 3 ? fields[3].split(separator: ",").map(String.init) : []
            db.groups.append(Group(name: fields[0], gid: gid, members: members))
        }
        return db
    }

    static func entries(_ text: String, minimumFields: Int) -> [[String]] {
        text.split(separator: "\n").compactMap { line in
            guard let first = line.first, first != "#", first != "+", first != "-" else { return nil }
            let fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= minimumFields, !fields[0].isEmpty else { return nil }
            return fields
        }
    }

    /// The groups `user` is in: its primary group and those listing it as a member.
    public func groupNames(of user: String) -> Set<String> {
        let primary = users.first { $0.name == user }?.gid
        return Set(groups.filter { $0.gid == primary || $0.members.contains(user) }.map(\.name))
    }

    /// Resolves `spec`: a name must be listed; a number is taken as it is (a uid or gid needs no
    /// entry) and named after its entry when there is one.
    /// - Throws: `.usage` for an unknown user or group, and for root as the owner (uid 0 owns
    ///   the nodes already: nothing to do).
    public func resolve(_ spec: OwnerSpec) throws(VFIOError) -> NodeOwner {
        let user: (name: String, uid: UInt32)
        if let uid = UInt32(spec.user) {
            user = (users.first { $0.uid == uid }?.name ?? spec.user, uid)
        } else if let entry = users.first(where: { $0.name == spec.user }) {
            user = (entry.name, entry.uid)
        } else {
            throw .usage(
                "unknown user '\(UntrustedText.printable(spec.user))': not in /etc/passwd", target: "--owner",
                remedy: "create the user first, or give a numeric uid")
        }
        guard user.uid != 0 else {
            throw .usage(
                "--owner \(UntrustedText.printable(spec.description)) is root, who owns the VFIO nodes already: nothing to do", target: "--owner",
                remedy: "name the unprivileged user that opens the device")
        }
        guard let groupName = spec.group else { return NodeOwner(user: user.name, uid: user.uid, group: nil, gid: 0) }
        let group: (name: String, gid: UInt32)
        if let gid = UInt32(groupName) {
            group = (groups.first { $0.gid == gid }?.name ?? groupName, gid)
        } else if let entry = groups.first(where: { $0.name == groupName }) {
            group = (entry.name, entry.gid)
        } else {
            throw .usage(
                "unknown group '\(UntrustedText.printable(groupName))': not in /etc/group", target: "--owner",
                remedy: "create the group first, or give a numeric gid")
        }
        return NodeOwner(user: user.name, uid: user.uid, group: group.name, gid: group.gid)
    }
}
