/// The time fixtures stamp on the records they make (the state file's `time`), fixed so that a
/// document written from them is the same on every run.
public enum FixtureClock {
    public static let time = "2026-12-01T12:00:00Z"
}
