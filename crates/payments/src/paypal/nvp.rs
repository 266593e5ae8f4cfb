//! PayPal's NVP API for sync (docs/payments.md, "PayPal NVP"): `TransactionSearch` (at most 100
//! rows; a truncated answer is paged by moving `ENDDATE` before the oldest row) and
//! `GetTransactionDetails`. Form in, form out; HTTP 200 even for `ACK=Failure`.

use std::collections::HashMap;

use boxoffice_domain::Money;

use crate::amounts::{currency, parse_decimal};
use crate::types::*;

pub const VERSION: &str = "204.0";

/// A decoded NVP answer.
#[derive(Debug, Clone, Default)]
pub struct NvpAnswer(pub HashMap<String, String>);

impl NvpAnswer {
    pub fn parse(body: &str) -> Self {
        let mut m = HashMap::new();
        for pair in body.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            m.insert(decode(k), decode(v));
        }
        NvpAnswer(m)
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn ack(&self) -> &str {
        self.get("ACK").unwrap_or("")
    }

    pub fn failed(&self) -> bool {
        self.ack().starts_with("Failure")
    }

    /// `(code, long message)` of every error or warning.
    pub fn errors(&self) -> Vec<(String, String)> {
        (0..)
            .map_while(|n| {
                let code = self.get(&format!("L_ERRORCODE{n}"))?;
                let msg = self
                    .get(&format!("L_LONGMESSAGE{n}"))
                    .or_else(|| self.get(&format!("L_SHORTMESSAGE{n}")))
                    .unwrap_or("");
                Some((code.to_string(), msg.to_string()))
            })
            .collect()
    }

    /// Whether TransactionSearch stopped at its 100-row limit.
    pub fn truncated(&self) -> bool {
        self.errors().iter().any(|(c, _)| c == "11002")
    }
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

pub fn fmt_time(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub fn parse_time(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

fn status(s: &str) -> TransactionStatus {
    match s.to_ascii_lowercase().as_str() {
        "completed" | "success" | "processed" | "cleared" => TransactionStatus::Succeeded,
        "pending" | "in-progress" | "processing" | "unclaimed" => TransactionStatus::Pending,
        "refunded" => TransactionStatus::Refunded,
        "partially refunded" | "partially-refunded" => TransactionStatus::PartiallyRefunded,
        "reversed" | "canceled-reversal" => TransactionStatus::Reversed,
        "denied" | "failed" | "expired" | "voided" | "canceled" => TransactionStatus::Failed,
        _ => TransactionStatus::Other(s.to_string()),
    }
}

fn amount(v: Option<&str>, cur: boxoffice_domain::money::Currency) -> Option<Money> {
    parse_decimal(v?, cur).ok()
}

/// The rows of a TransactionSearch answer.
pub fn search_rows(a: &NvpAnswer, account: Account) -> Vec<Transaction> {
    (0..)
        .map_while(|n| {
            let id = a.get(&format!("L_TRANSACTIONID{n}"))?.to_string();
            Some((n, id))
        })
        .filter_map(|(n, id)| {
            let f = |k: &str| a.get(&format!("{k}{n}"));
            let cur = currency(f("L_CURRENCYCODE")?).ok()?;
            let gross = amount(f("L_AMT"), cur)?;
            let typ = f("L_TYPE").unwrap_or("");
            let kind = if typ.contains("Refund") || gross.minor < 0 {
                TransactionKind::Refund
            } else if typ.contains("Payment") {
                TransactionKind::Payment
            } else {
                TransactionKind::Other
            };
            Some(Transaction {
                gateway: GatewayKind::PayPal,
                account,
                id,
                created: f("L_TIMESTAMP").and_then(parse_time).unwrap_or(0),
                kind,
                status: status(f("L_STATUS").unwrap_or("")),
                amount: gross,
                fee: amount(f("L_FEEAMT"), cur).map(|m| Money::new(m.minor.abs(), cur)),
                net: amount(f("L_NETAMT"), cur),
                payer_email: f("L_EMAIL").map(str::to_string),
                payer_name: f("L_NAME").map(str::to_string),
                subscription_id: None,
                reference: None,
                description: Some(typ.to_string()).filter(|t| !t.is_empty()),
                aliases: Vec::new(),
                refunded: None,
            })
        })
        .collect()
}

/// A GetTransactionDetails answer.
pub fn details(a: &NvpAnswer, account: Account) -> Option<Transaction> {
    let cur = currency(a.get("CURRENCYCODE")?).ok()?;
    let gross = amount(a.get("AMT"), cur)?;
    let name = match (a.get("FIRSTNAME"), a.get("LASTNAME")) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(f), None) => Some(f.to_string()),
        (None, Some(l)) => Some(l.to_string()),
        _ => None,
    };
    let typ = a.get("TRANSACTIONTYPE").unwrap_or("");
    Some(Transaction {
        gateway: GatewayKind::PayPal,
        account,
        id: a.get("TRANSACTIONID")?.to_string(),
        created: a.get("ORDERTIME").and_then(parse_time).unwrap_or(0),
        kind: if gross.minor < 0 {
            TransactionKind::Refund
        } else {
            TransactionKind::Payment
        },
        status: status(a.get("PAYMENTSTATUS").unwrap_or("")),
        amount: gross,
        fee: amount(a.get("FEEAMT"), cur).map(|m| Money::new(m.minor.abs(), cur)),
        net: None,
        payer_email: a.get("EMAIL").map(str::to_string),
        payer_name: name,
        subscription_id: a
            .get("SUBSCRIPTIONID")
            .or_else(|| a.get("PROFILEID"))
            .map(str::to_string),
        reference: a
            .get("CUSTOM")
            .or_else(|| a.get("INVNUM"))
            .map(str::to_string),
        description: Some(typ.to_string()).filter(|t| !t.is_empty()),
        aliases: Vec::new(),
        refunded: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_search_answer_reads_as_one_payment() {
        let body = "TIMESTAMP=2025-01-02T00%3a00%3a00Z&CORRELATIONID=abc123def456&ACK=Success&VERSION=204.0&BUILD=1&L_TIMESTAMP0=2025-01-01T12%3a00%3a00Z&L_TIMEZONE0=GMT&L_TYPE0=Payment&L_EMAIL0=buyer%40example.test&L_NAME0=Jane%20Buyer&L_TRANSACTIONID0=5O190127TN364715T&L_STATUS0=Completed&L_AMT0=10.00&L_CURRENCYCODE0=USD&L_FEEAMT0=-0.59&L_NETAMT0=9.41";
        let a = NvpAnswer::parse(body);
        assert!(!a.failed() && !a.truncated());
        let rows = search_rows(&a, Account::Secondary);
        assert_eq!(rows.len(), 1);
        let t = &rows[0];
        assert_eq!(t.id, "5O190127TN364715T");
        assert_eq!(t.amount.minor, 1000);
        assert_eq!(t.fee.unwrap().minor, 59);
        assert_eq!(t.net.unwrap().minor, 941);
        assert_eq!(t.payer_email.as_deref(), Some("buyer@example.test"));
        assert_eq!(t.payer_name.as_deref(), Some("Jane Buyer"));
        assert_eq!(t.created, 1_735_732_800);
        assert_eq!(t.account, Account::Secondary);
    }

    #[test]
    fn a_failure_carries_its_error_code() {
        let a = NvpAnswer::parse(
            "ACK=Failure&L_ERRORCODE0=10002&L_SHORTMESSAGE0=Security+error&L_LONGMESSAGE0=Security+header+is+not+valid",
        );
        assert!(a.failed());
        assert_eq!(
            a.errors(),
            vec![("10002".into(), "Security header is not valid".into())]
        );
    }
}
