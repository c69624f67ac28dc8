/// An optional field that a JSON document writes as `null` when absent, instead of leaving the
/// key out as synthesized `Encodable` does: every document keeps its whole key set, so
/// consumers (and the schema) can rely on it.
///
///     struct Entry: Encodable {
///         var address: String
///         @Nullable var driver: String?   // "driver": null
///     }
@propertyWrapper
struct Nullable<Value: Encodable>: Encodable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue {
            try container.encode(wrappedValue)
        } else {
            try container.encodeNil()
        }
    }
}
