import Foundation
import HubCore
import Synchronization

/// One entry of a watchlist: names (any script) and identifiers.
public struct WatchlistEntry: Sendable, Hashable {
    /// The list it comes from (`UNSC`, `MOFCOM-UEL`, …).
    public var list: String
    /// The entry's id in the list.
    public var id: String
    /// Its names and aliases.
    public var names: [String]
    /// USCCs.
    public var usccs: [String]
    /// Resident ID numbers.
    public var idNumbers: [String]
    /// BICs (8 or 11 characters; matched on the first 8).
    public var bics: [String]

    /// Creates an entry.
    public init(list: String, id: String, names: [String] = [], usccs: [String] = [], idNumbers: [String] = [], bics: [String] = []) {
        self.list = list
        self.id = id
        self.names = names
        self.usccs = usccs
        self.idNumbers = idNumbers
        self.bics = bics
    }
}

/// A watchlist hit: which subject matched which entry, and how.
public struct WatchlistHit: Sendable, Hashable {
    /// The list.
    public var list: String
    /// The entry id.
    public var entryID: String
    /// The matched field.
    public var field: ScreeningSubject.Field
    /// Where the value is in the message.
    public var pointer: String
    /// The screened value's key (field and normalised value): a hit is raised once per entry and key.
    public var subjectKey: String
}

/// The loaded watchlists, indexed for matching. Immutable; ``WatchlistStore`` swaps whole snapshots.
public struct WatchlistIndex: Sendable {
    /// The entries.
    public let entries: [WatchlistEntry]
    private let byName: [String: [Int]]
    private let byIdentifier: [String: [Int]]

    /// Indexes entries.
    /// - Parameter entries: The entries.
    public init(entries: [WatchlistEntry]) {
        self.entries = entries
        var byName: [String: [Int]] = [:]
        var byIdentifier: [String: [Int]] = [:]
        for (index, entry) in entries.enumerated() {
            for name in entry.names {
                for key in Set([NameNormalizer.compact(name), NameNormalizer.sortedTokens(name)]) where !key.isEmpty {
                    byName[key, default: []].append(index)
                }
            }
            for value in entry.usccs { byIdentifier["uscc:" + value.uppercased(), default: []].append(index) }
            for value in entry.idNumbers { byIdentifier["id:" + value.uppercased(), default: []].append(index) }
            for value in entry.bics { byIdentifier["bic:" + String(value.uppercased().prefix(8)), default: []].append(index) }
        }
        self.byName = byName
        self.byIdentifier = byIdentifier
    }

    /// Screens subjects.
    /// - Parameter subjects: Names and identifiers from a message.
    /// - Returns: The hits, one per (subject, entry).
    public func screen(_ subjects: [ScreeningSubject]) -> [WatchlistHit] {
        var hits: [WatchlistHit] = []
        var seen: Set<String> = []
        for subject in subjects {
            var indices: [Int] = []
            switch subject.field {
            case .name:
                for key in Set([NameNormalizer.compact(subject.value), NameNormalizer.sortedTokens(subject.value)]) {
                    indices += byName[key] ?? []
                }
            case .uscc: indices = byIdentifier["uscc:" + subject.value.uppercased()] ?? []
            case .idNumber: indices = byIdentifier["id:" + subject.value.uppercased()] ?? []
            case .bic: indices = byIdentifier["bic:" + String(subject.value.uppercased().prefix(8))] ?? []
            }
            let subjectKey: String
            switch subject.field {
            case .name: subjectKey = "name:" + NameNormalizer.compact(subject.value)
            case .bic: subjectKey = "bic:" + String(subject.value.uppercased().prefix(8))
            default: subjectKey = "\(subject.field.rawValue):" + subject.value.uppercased()
            }
            for index in indices {
                let entry = entries[index]
                guard seen.insert("\(subject.pointer)|\(entry.list)|\(entry.id)").inserted else { continue }
                hits.append(
                    WatchlistHit(list: entry.list, entryID: entry.id, field: subject.field, pointer: subject.pointer,
                                 subjectKey: subjectKey))
            }
        }
        return hits
    }
}

/// Watchlist files, loaded and reloaded without a restart (R-AML-9).
///
/// Paths are files or folders (every `*.json` and `*.csv` inside). JSON: `{"list": "UNSC", "entries": [{"id": "…",
/// "names": ["…"], "usccs": ["…"], "idNumbers": ["…"], "bics": ["…"]}]}`. CSV (header required):
/// `list,id,name,uscc,idNumber,bic` — one row per name or identifier; rows with the same list and id form one entry.
/// ``reloadIfChanged()`` compares modification times and sizes and swaps the index atomically; a file that fails to
/// parse keeps the previous index and reports the error.
public final class WatchlistStore: Sendable {
    /// A failure to load a watchlist file (names the file and the problem; no list content).
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        /// The file.
        public var path: String
        /// What is wrong.
        public var problem: String
        /// `<path>: <problem>`.
        public var description: String { "\(path): \(problem)" }
    }

    private struct State: Sendable {
        var index = WatchlistIndex(entries: [])
        var stamps: [String: String] = [:]
        var loads = 0
    }

    /// The configured paths.
    public let paths: [String]
    private let state = Mutex(State())

    /// Creates a store; nothing is read until ``reloadIfChanged()``.
    /// - Parameter paths: Files or folders.
    public init(paths: [String]) {
        self.paths = paths
    }

    /// The current index.
    public var index: WatchlistIndex { state.withLock { $0.index } }

    /// How many times the lists were (re)loaded.
    public var loadCount: Int { state.withLock { $0.loads } }

    /// Reloads when any file was added, removed or changed since the last load.
    /// - Returns: Whether the index was replaced.
    /// - Throws: ``LoadError``; the previous index stays in use.
    @discardableResult
    public func reloadIfChanged() throws(LoadError) -> Bool {
        try reload(force: false)
    }

    /// Loads the lists now, changed or not (an operator's SIGHUP).
    /// - Throws: ``LoadError``; the previous index stays in use.
    public func reloadNow() throws(LoadError) {
        try reload(force: true)
    }

    @discardableResult
    private func reload(force: Bool) throws(LoadError) -> Bool {
        let files = try Self.files(in: paths)
        var stamps: [String: String] = [:]
        for file in files {
            let attributes = try? FileManager.default.attributesOfItem(atPath: file)
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
            stamps[file] = "\(modified)/\(size)"
        }
        if !force && state.withLock({ $0.loads > 0 && $0.stamps == stamps }) { return false }
        var entries: [WatchlistEntry] = []
        for file in files { entries += try Self.load(file) }
        let index = WatchlistIndex(entries: entries)
        state.withLock {
            $0.index = index
            $0.stamps = stamps
            $0.loads += 1
        }
        return true
    }

    static func files(in paths: [String]) throws(LoadError) -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw LoadError(path: path, problem: "no such file or folder")
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.filter { $0.hasSuffix(".json") || $0.hasSuffix(".csv") }.sorted()
                    .map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        return files
    }

    /// Parses one file.
    /// - Parameter path: A `.json` or `.csv` file.
    /// - Returns: Its entries.
    /// - Throws: ``LoadError``.
    public static func load(_ path: String) throws(LoadError) -> [WatchlistEntry] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(path: path, problem: "cannot be read")
        }
        return path.hasSuffix(".csv") ? try parseCSV(Array(data), path: path) : try parseJSON(Array(data), path: path)
    }

    static func parseJSON(_ bytes: [UInt8], path: String) throws(LoadError) -> [WatchlistEntry] {
        let root: JSONValue
        do { root = try JSONValue.parse(bytes) } catch { throw LoadError(path: path, problem: "not JSON (\(error))") }
        guard let list = root["list"]?.stringValue, let entries = root["entries"]?.arrayValue else {
            throw LoadError(path: path, problem: "needs \"list\" (string) and \"entries\" (array)")
        }
        var result: [WatchlistEntry] = []
        for (index, entry) in entries.enumerated() {
            guard let id = entry["id"]?.stringValue else {
                throw LoadError(path: path, problem: "entry \(index) has no \"id\"")
            }
            func strings(_ key: String) -> [String] { entry[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
            result.append(
                WatchlistEntry(list: list, id: id, names: strings("names"), usccs: strings("usccs"),
                               idNumbers: strings("idNumbers"), bics: strings("bics")))
        }
        return result
    }

    static func parseCSV(_ bytes: [UInt8], path: String) throws(LoadError) -> [WatchlistEntry] {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        guard !lines.isEmpty else { return [] }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard header == ["list", "id", "name", "uscc", "idNumber", "bic"] else {
            throw LoadError(path: path, problem: "header must be list,id,name,uscc,idNumber,bic")
        }
        var order: [String] = []
        var entries: [String: WatchlistEntry] = [:]
        for (number, line) in lines.enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 6, !fields[0].isEmpty, !fields[1].isEmpty else {
                throw LoadError(path: path, problem: "line \(number + 2) needs 6 fields with list and id")
            }
            let key = fields[0] + "\u{1F}" + fields[1]
            if entries[key] == nil {
                order.append(key)
                entries[key] = WatchlistEntry(list: fields[0], id: fields[1])
            }
            if !fields[2].isEmpty { entries[key]!.names.append(fields[2]) }
            if !fields[3].isEmpty { entries[key]!.usccs.append(fields[3]) }
            if !fields[4].isEmpty { entries[key]!.idNumbers.append(fields[4]) }
            if !fields[5].isEmpty { entries[key]!.bics.append(fields[5]) }
        }
        return order.compactMap { entries[$0] }
    }
}
