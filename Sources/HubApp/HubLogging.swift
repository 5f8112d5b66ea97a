import Foundation
public import Logging
import Synchronization

/// Process-wide logging set-up. Only the executable calls ``bootstrap(level:)``; components take loggers.
public enum HubLogging {
    private static let bootstrapped = Mutex(false)
    private static let level = Mutex(Logger.Level.info)

    /// Sends logs to standard error as one structured line each (time, level, label, message, metadata).
    /// Safe to call more than once: the first call wins.
    /// - Parameter level: The minimum level.
    public static func bootstrap(level: Logger.Level) {
        self.level.withLock { $0 = level }
        let first = bootstrapped.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// A logger for a component of the process.
    /// - Parameter label: The component's label, e.g. `huitong.serve`.
    /// - Returns: The logger at the bootstrapped level.
    public static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = level.withLock { $0 }
        return logger
    }
}
