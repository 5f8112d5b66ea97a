public import HubCore

/// The payload of `gateway.audit.unmasked.v1` (contracts/schemas/gateway/audit-unmasked.v1.schema.json): a reviewer
/// read unmasked audit records. The filters are recorded, never the records.
public struct AuditUnmasked: Sendable, Hashable, Codable {
    /// The message type this payload belongs to.
    public static let messageType = "gateway.audit.unmasked.v1"

    /// The filters of the query.
    public struct Filters: Sendable, Hashable, Codable {
        /// The flow.
        public var correlationId: String?
        /// The enterprise (R-ID-2 checked).
        public var enterpriseId: USCC?
        /// The message type.
        public var type: MessageType?
        /// The partner whose messages were read.
        public var partnerId: PartnerID?
        /// From.
        public var from: Timestamp?
        /// To.
        public var to: Timestamp?
        /// Page size.
        public var limit: Int?
        /// Page cursor.
        public var cursor: String?

        /// Creates filters.
        /// - Parameters:
        ///   - correlationId: Flow.
        ///   - enterpriseId: Enterprise.
        ///   - type: Type.
        ///   - partnerId: Partner.
        ///   - from: From.
        ///   - to: To.
        ///   - limit: Page size.
        ///   - cursor: Cursor.
        public init(
            correlationId: String? = nil, enterpriseId: USCC? = nil, type: MessageType? = nil, partnerId: PartnerID? = nil,
            from: Timestamp? = nil, to: Timestamp? = nil, limit: Int? = nil, cursor: String? = nil
        ) {
            self.correlationId = correlationId
            self.enterpriseId = enterpriseId
            self.type = type
            self.partnerId = partnerId
            self.from = from
            self.to = to
            self.limit = limit
            self.cursor = cursor
        }
    }

    /// The reviewer.
    public var partnerId: PartnerID
    /// How many records were returned unmasked.
    public var records: Int
    /// The query's filters.
    public var filters: Filters

    /// Creates the payload.
    /// - Parameters:
    ///   - partnerId: The reviewer.
    ///   - records: The number of records returned.
    ///   - filters: The filters.
    public init(partnerId: PartnerID, records: Int, filters: Filters) {
        self.partnerId = partnerId
        self.records = records
        self.filters = filters
    }
}
