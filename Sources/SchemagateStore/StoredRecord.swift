import FoundationEssentials
import SchemagateCore

/// A settings row schemagate cannot read: hand-edited, truncated, or written by something else.
/// Its description names the row and says what to do, instead of a decoder's words.
public struct StoredRecordProblem: Error, Sendable, CustomStringConvertible {
    public let key: String
    public let table: String
    public let text: String
    public let reason: String

    public var description: String {
        let shown = text.count > 120 ? text.prefix(120) + "…" : Substring(text)
        let remedy = key == SettingsKey.migrationLock
            ? "remove it with `schemagate unlock --force`"
            : "correct the row (see docs/reference.md, \"Tables\"), or restore it from a backup"
        return "\(key) in \(table) holds \(shown): \(reason); \(remedy)"
    }
}

/// Decodes the JSON value of settings row `key`, checking what the type alone cannot.
func decodeStored<T: Decodable>(_ type: T.Type, key: String, table: String, from text: String) throws -> T {
    let value: T
    do {
        value = try JSONDecoder().decode(T.self, from: Data(text.utf8))
    } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
        // The decoder says this for valid JSON too, when a number does not fit its field.
        let valid = (try? JSONDecoder().decode(AnyJSON.self, from: Data(text.utf8))) != nil
        throw StoredRecordProblem(key: key, table: table, text: text,
                                  reason: valid ? "a number is out of range or not a whole number" : "not valid JSON")
    } catch let DecodingError.keyNotFound(field, _) {
        throw StoredRecordProblem(key: key, table: table, text: text, reason: "no \"\(field.stringValue)\" field")
    } catch let DecodingError.valueNotFound(_, context) {
        throw StoredRecordProblem(key: key, table: table, text: text, reason: "\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" is null")
    } catch let DecodingError.typeMismatch(expected, context) {
        throw StoredRecordProblem(key: key, table: table, text: text, reason: "\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" is not \(describe(expected))")
    } catch let DecodingError.dataCorrupted(context) {
        throw StoredRecordProblem(key: key, table: table, text: text, reason: "\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" is out of range or not a whole number")
    }
    if let version = value as? VersionRecord, version.version < 0 {
        throw StoredRecordProblem(key: key, table: table, text: text, reason: "the version is negative; versions are 0 or more")
    }
    return value
}

private func describe(_ type: Any.Type) -> String {
    switch type {
    case is Int64.Type, is Int32.Type, is Int.Type: return "a whole number"
    case is Double.Type: return "a number"
    case is String.Type: return "text"
    case is Bool.Type: return "true or false"
    default: return "of the expected kind"
    }
}

/// Any JSON value, read only to tell "not JSON" from "JSON of the wrong shape" (numbers are read
/// as Double, so a huge one is still valid JSON).
private struct AnyJSON: Decodable {
    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            while !array.isAtEnd { _ = try array.decode(AnyJSON.self) }
        } else if let object = try? decoder.container(keyedBy: AnyKey.self) {
            for key in object.allKeys { _ = try object.decode(AnyJSON.self, forKey: key) }
        } else {
            let value = try decoder.singleValueContainer()
            if value.decodeNil() { return }
            if (try? value.decode(Bool.self)) != nil { return }
            if (try? value.decode(Double.self)) != nil { return }
            _ = try value.decode(String.self)
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
