import Foundation

/// Normalises names for watchlist matching (R-AML-9): full-width → half-width (NFKC), traditional → simplified for
/// a table of common characters, case folded, and spaces and punctuation stripped.
///
/// Two keys are compared: the compact form (every separator removed) and the token-sorted form (words sorted
/// before the separators go), so `SMITH, John` matches `John Smith`. Pinyin transliteration is not attempted.
public enum NameNormalizer {
    /// The compact key: `"  ＡＣＭＥ  貿易（集團）有限公司 "` → `"acme贸易集团有限公司"`.
    /// - Parameter name: The name as written.
    /// - Returns: The key.
    public static func compact(_ name: String) -> String {
        tokens(name).joined()
    }

    /// The token-sorted key: the words of the name, sorted, then joined.
    /// - Parameter name: The name as written.
    /// - Returns: The key.
    public static func sortedTokens(_ name: String) -> String {
        tokens(name).sorted().joined()
    }

    /// The words of a normalised name: runs of letters, digits and CJK ideographs, split at spaces and punctuation.
    /// - Parameter name: The name.
    /// - Returns: The words, lower-cased, simplified.
    public static func tokens(_ name: String) -> [String] {
        let folded = (needsCompatibilityMapping(name) ? name.precomposedStringWithCompatibilityMapping : name).lowercased()
        var words: [String] = []
        var current = ""
        for scalar in folded.unicodeScalars {
            let mapped = traditionalToSimplified[scalar] ?? scalar
            let properties = mapped.properties
            if properties.isAlphabetic || properties.numericType != nil {
                current.unicodeScalars.append(mapped)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Whether NFKC can change the name. ASCII and the CJK Unified Ideographs block (U+4E00–U+9FFF) have no
    /// compatibility mappings, and most names here are made of nothing else: they skip Foundation's NFKC, which was
    /// most of the screening cost per message. Anything else (full-width forms, compatibility ideographs, accents)
    /// takes the full mapping.
    static func needsCompatibilityMapping(_ name: String) -> Bool {
        !name.unicodeScalars.allSatisfy { $0.isASCII || (0x4E00...0x9FFF).contains($0.value) }
    }

    /// Traditional → simplified for characters common in company and personal names (not a full conversion table).
    static let traditionalToSimplified: [Unicode.Scalar: Unicode.Scalar] = {
        let pairs = """
            貿贸 團团 東东 國国 際际 華华 銀银 行行 鐵铁 聯联 開开 發发 區区 業业 廠厂 貨货 運运 輸输 資资 產产 \
            實实 現现 電电 氣气 車车 長长 門门 龍龙 馬马 鳥鸟 魚鱼 書书 學学 藝艺 術术 醫医 藥药 衛卫 農农 \
            礦矿 鋼钢 網网 絡络 訊讯 號号 碼码 義义 億亿 萬万 與与 興兴 滙汇 匯汇 豐丰 達达 連连 進进 遠远 \
            邊边 過过 對对 導导 將将 爾尔 邁迈 歐欧 亞亚 羅罗 蘭兰 倫伦 維维 鄭郑 劉刘 陳陈 楊杨 趙赵 黃黄 \
            張张 吳吴 周周 孫孙 馮冯 許许 謝谢 韓韩 錢钱 蔣蒋 鄧邓 蕭萧 葉叶 蘇苏 盧卢 賈贾 顧顾 莊庄 龔龚 \
            閻阎 譚谭 陸陆 魯鲁 滬沪 蘇苏 廣广 灣湾 臺台 澳澳 門门 島岛 濟济 瀋沈 寧宁 慶庆 漢汉 陝陕 遼辽 \
            黑黑 貴贵 雲云 紅红 綠绿 藍蓝 紫紫 場场 頭头 億亿 協协 會会 黨党 員员 務务 險险 證证 券券 豐丰 \
            測测 試试 設设 計计 標标 準准 經经 營营 機机 構构 組组 織织 總总 處处 辦办 記记 錄录 簽签 約约 \
            壽寿 財财 稅税 費费 價价 賣卖 買买 紡纺 織织 維维 綜综 徵征 傳传 媒媒 廣广 告告 觀观 點点 圖图 \
            書书 館馆 廳厅 樓楼 層层 幣币 兌兑 換换 匯汇 貸贷 齊齐 強强 勝胜 寶宝 聖圣 靈灵 顯显 鳳凤 麗丽
            """
        var table: [Unicode.Scalar: Unicode.Scalar] = [:]
        for word in pairs.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let scalars = Array(word.unicodeScalars)
            guard scalars.count == 2 else { continue }
            table[scalars[0]] = scalars[1]
        }
        return table
    }()
}
