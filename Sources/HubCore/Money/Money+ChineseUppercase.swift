import Foundation

extension Money {
    /// The amount in Chinese financial capitals (大写金额, R-ID-11), for renminbi.
    ///
    /// Digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟万亿 and 元角分; `壹拾` is kept (`16.15` → 壹拾陆元壹角伍分); one 零 stands
    /// for each run of zeros between non-zero digits (`10005.60` → 壹万零伍元陆角); 整 follows 元 only when
    /// nothing follows it (`1010.00` → 壹仟零壹拾元整). A negative amount is prefixed 负; zero is 零元整.
    /// - Returns: The uppercase amount.
    /// - Throws: `ValidationError` (`invalidValue`) if the currency is not CNY, or (`outOfRange`) if the integer
    ///   part has more than 16 digits (beyond 万亿).
    public func chineseUppercase() throws(ValidationError) -> String {
        guard currency == .cny else {
            throw ValidationError(
                .invalidValue, rule: "R-ID-11", message: "Chinese capital amounts are written for CNY only")
        }
        let digitsText = amountString.hasPrefix("-") ? String(amountString.dropFirst()) : amountString
        let parts = digitsText.split(separator: ".", omittingEmptySubsequences: false)
        let integerDigits = parts[0].utf8.map { Int($0) - 0x30 }
        let fractionDigits = parts.count > 1 ? parts[1].utf8.map { Int($0) - 0x30 } : [0, 0]
        guard integerDigits.count <= 16 else {
            throw ValidationError(
                .outOfRange, rule: "R-ID-11", message: "capital amounts are written up to 16 integer digits")
        }
        let numerals = Array("零壹贰叁肆伍陆柒捌玖")
        let positionUnits = ["", "拾", "佰", "仟"]
        let groupUnits = ["", "万", "亿", "万亿"]

        var result = ""
        let integerValueIsZero = integerDigits.allSatisfy { $0 == 0 }
        if !integerValueIsZero {
            // Pad to whole groups of four, most significant group first.
            let padded = Array(repeating: 0, count: (4 - integerDigits.count % 4) % 4) + integerDigits
            let groupCount = padded.count / 4
            var pendingZero = false
            for group in 0..<groupCount {
                let digits = padded[(group * 4)..<(group * 4 + 4)]
                var groupHasDigit = false
                for (offset, digit) in digits.enumerated() {
                    if digit == 0 {
                        if !result.isEmpty { pendingZero = true }
                        continue
                    }
                    if pendingZero { result.append("零") }
                    pendingZero = false
                    result.append(numerals[digit])
                    result += positionUnits[3 - offset]
                    groupHasDigit = true
                }
                if groupHasDigit { result += groupUnits[groupCount - 1 - group] }
            }
            result.append("元")
        }
        let jiao = fractionDigits[0]
        let fen = fractionDigits.count > 1 ? fractionDigits[1] : 0
        if jiao == 0 && fen == 0 {
            result += integerValueIsZero ? "零元整" : "整"
        } else {
            if jiao != 0 {
                result += String(numerals[jiao]) + "角"
            }
            if fen != 0 {
                if jiao == 0 && !integerValueIsZero { result.append("零") }
                result += String(numerals[fen]) + "分"
            }
        }
        return (isNegative ? "负" : "") + result
    }
}
