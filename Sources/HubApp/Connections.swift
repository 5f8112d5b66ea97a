import HubAMQP
import HubStore

/// Builds the library configurations from the hub configuration, turning malformed URLs into operator errors.
enum Connections {
    static func amqp(_ configuration: HubConfiguration, name: String) throws -> AMQPConfiguration {
        do {
            var amqp = try AMQPConfiguration(url: configuration.amqpURL, connectionName: name)
            amqp.connectionTimeout = configuration.connectTimeout
            return amqp
        } catch {
            throw HubAppError(
                .invalidConfiguration,
                "HUITONG_AMQP_URL is not a valid broker URL: \(error.message)",
                fix: "use amqp://USER:PASSWORD@HOST:PORT/VHOST (or amqps://)",
                underlying: error
            )
        }
    }

    static func postgres(_ configuration: HubConfiguration) throws -> PostgresConfiguration {
        do {
            var postgres = try PostgresConfiguration(url: configuration.databaseURL)
            postgres.connectTimeout = configuration.connectTimeout
            return postgres
        } catch {
            throw HubAppError(
                .invalidConfiguration,
                "HUITONG_DATABASE_URL is not a valid database URL: \(error.message)",
                fix: "use postgres://USER:PASSWORD@HOST:PORT/DATABASE",
                underlying: error
            )
        }
    }
}

extension HubAppError {
    /// The operator's one-line view of a broker failure.
    static func broker(_ error: any Error, configuration: AMQPConfiguration) -> HubAppError {
        guard let error = error as? AMQPError else {
            return HubAppError(.brokerUnavailable, "broker: \(describe(error))", underlying: error)
        }
        let at = "\(configuration.host):\(configuration.port)"
        switch error.code {
        case .timeout:
            return HubAppError(
                .brokerUnavailable,
                "broker at \(at) accepted the connection but did not answer within \(configuration.connectionTimeout)",
                fix: "check that \(at) is a RabbitMQ AMQP port and the broker is healthy, or raise HUITONG_CONNECT_TIMEOUT",
                underlying: error
            )
        case .brokerUnreachable:
            return HubAppError(
                .brokerUnavailable,
                "broker is not reachable at \(at) (\(error.code))",
                fix: "start it (deploy/local/servers.sh up) or correct the host and port in HUITONG_AMQP_URL",
                underlying: error
            )
        case .authenticationFailed:
            return HubAppError(
                .brokerUnavailable,
                "broker at \(at) refused the credentials of user '\(configuration.user)'",
                fix: "correct the user and password in HUITONG_AMQP_URL",
                underlying: error
            )
        case .vhostNotFound, .accessRefused:
            return HubAppError(
                .brokerUnavailable,
                "broker at \(at) has no vhost '\(configuration.vhost)' that user '\(configuration.user)' may use",
                fix: "create it and grant permissions (rabbitmqctl add_vhost; set_permissions) or correct the vhost",
                underlying: error
            )
        case .tlsFailed:
            return HubAppError(
                .brokerUnavailable,
                "TLS with the broker at \(at) failed",
                fix: "check cacertfile, certfile, keyfile and verify in HUITONG_AMQP_URL",
                underlying: error
            )
        default:
            return HubAppError(.brokerUnavailable, "broker at \(at): \(error.description)", underlying: error)
        }
    }

    /// The operator's one-line view of a database failure.
    static func database(_ error: any Error, configuration: PostgresConfiguration) -> HubAppError {
        guard let error = error as? PostgresError else {
            return HubAppError(.databaseUnavailable, "database: \(describe(error))", underlying: error)
        }
        let at = "\(configuration.host):\(configuration.port)"
        switch error.code {
        case .timeout:
            return HubAppError(
                .databaseUnavailable,
                "database at \(at) did not answer within \(configuration.connectTimeout)",
                fix: "check that \(at) is a PostgreSQL port and the server is healthy, or raise HUITONG_CONNECT_TIMEOUT",
                underlying: error
            )
        case .connectionFailed:
            return HubAppError(
                .databaseUnavailable,
                "database is not reachable at \(at) (\(error.code))",
                fix: "start it (deploy/local/servers.sh up) or correct the host and port in HUITONG_DATABASE_URL",
                underlying: error
            )
        case .authenticationFailed:
            return HubAppError(
                .databaseUnavailable,
                "database at \(at) refused the credentials of user '\(configuration.user ?? "")'",
                fix: "correct the user and password in HUITONG_DATABASE_URL",
                underlying: error
            )
        case .databaseNotFound:
            return HubAppError(
                .databaseUnavailable,
                "database '\(configuration.database)' does not exist at \(at)",
                fix: "create it (createdb) or correct the database name in HUITONG_DATABASE_URL",
                underlying: error
            )
        case .migrationChecksumMismatch, .unknownAppliedMigration, .invalidMigration:
            return HubAppError(
                .migrationFailed,
                error.description,
                fix: "never edit an applied migration (add a new version); run the huitong that applied it",
                underlying: error
            )
        default:
            return HubAppError(.databaseUnavailable, "database at \(at): \(error.description)", underlying: error)
        }
    }

    /// A log-safe one-line description of any error.
    /// - Parameter error: The error.
    /// - Returns: Its `description` for the hub's error types; the type name otherwise.
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let error as HubAppError: return error.description
        case let error as AMQPError: return error.description
        case let error as PostgresError: return error.description
        default: return "\(type(of: error)): \(String(describing: error).prefix(200))"
        }
    }
}
