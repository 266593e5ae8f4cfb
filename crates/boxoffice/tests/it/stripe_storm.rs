//! A storm of Stripe webhook deliveries with a known outcome, shared by the storm test and the
//! `webhooks` bench (which includes this file by path): for each checkout, the events Stripe
//! sends for it (a paid one-off session, some refunded by half; or a subscription's session,
//! its state update and three paid invoices), some event types boxoffice does not act on, then
//! 20% of the deliveries repeated, 5% refused (a forged signature, or a copy signed outside the
//! 300 s tolerance), all shuffled. Plain Rust, no test framework.

/// One delivery: the body, and how it is to be signed.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub body: String,
    pub sign: Sign,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// With the endpoint secret, now.
    Good,
    /// With another secret.
    Forged,
    /// With the endpoint secret, 400 s ago (outside the tolerance).
    Stale,
}

/// What the ledger must hold once every delivery has been answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub unique_events: usize,
    pub ignored_events: usize,
    pub payments: usize,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    pub subscriptions: usize,
    pub refused: usize,
    pub deliveries: usize,
}

/// A checkout of the storm: its row id and whether it is a subscription.
#[derive(Clone, Copy, Debug)]
pub struct StormCheckout {
    pub id: i64,
    pub recurring: bool,
}

pub const PRICE: i64 = 1000;
const REFUND: i64 = 500;
const RENEWALS: usize = 3;

/// How many checkouts make about `deliveries` deliveries (75% of them unique events).
pub fn checkouts_for(deliveries: usize) -> usize {
    // Per pair of checkouts: a one-off (1 event, plus a refund for one in five and an ignored
    // event for one in seven) and a subscription (5 events): about 3.17 events a checkout.
    let unique = deliveries * 3 / 4;
    (unique * 100 / 317).max(2)
}

/// A small deterministic generator (xorshift64*), so a failing storm can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

fn event(id: &str, typ: &str, created: i64, object: String) -> String {
    format!(
        r#"{{"id":"{id}","object":"event","api_version":"2025-03-31.basil","created":{created},"livemode":false,"type":"{typ}","data":{{"object":{object}}}}}"#
    )
}

/// The storm for `checkouts`, events dated around `now`.
pub fn storm(checkouts: &[StormCheckout], now: i64, seed: u64) -> (Vec<Delivery>, Expected) {
    let mut rng = Rng::new(seed);
    let mut unique = Vec::new();
    let mut x = Expected::default();
    let month = 30 * 86_400;
    for c in checkouts {
        let (id, reference) = (c.id, format!("checkout-{}", c.id));
        let t = now - 3_600 + (id % 600);
        if !c.recurring {
            unique.push(event(
                &format!("evt_cs_{id}"),
                "checkout.session.completed",
                t,
                format!(
                    r#"{{"id":"cs_storm_{id}","object":"checkout.session","mode":"payment","status":"complete","payment_status":"paid","client_reference_id":"{reference}","payment_intent":"pi_storm_{id}","amount_total":{PRICE},"currency":"usd"}}"#
                ),
            ));
            x.payments += 1;
            x.amount_minor += PRICE;
            if id % 5 == 0 {
                unique.push(event(
                    &format!("evt_refund_{id}"),
                    "charge.refunded",
                    t + 60,
                    format!(
                        r#"{{"id":"ch_storm_{id}","object":"charge","payment_intent":"pi_storm_{id}","amount":{PRICE},"amount_refunded":{REFUND},"refunded":false,"currency":"usd","refunds":{{"data":[{{"id":"re_storm_{id}"}}]}}}}"#
                    ),
                ));
                x.refunded_minor += REFUND;
            }
            if id % 7 == 0 {
                unique.push(event(
                    &format!("evt_customer_{id}"),
                    "customer.created",
                    t,
                    format!(r#"{{"id":"cus_storm_{id}","object":"customer"}}"#),
                ));
                x.ignored_events += 1;
            }
        } else {
            let sub = format!("sub_storm_{id}");
            unique.push(event(
                &format!("evt_cs_{id}"),
                "checkout.session.completed",
                t,
                format!(
                    r#"{{"id":"cs_storm_{id}","object":"checkout.session","mode":"subscription","status":"complete","payment_status":"paid","client_reference_id":"{reference}","subscription":"{sub}","payment_intent":null,"amount_total":{PRICE},"currency":"usd"}}"#
                ),
            ));
            unique.push(event(
                &format!("evt_subupd_{id}"),
                "customer.subscription.updated",
                t + 1,
                format!(
                    r#"{{"id":"{sub}","object":"subscription","status":"active","cancel_at_period_end":false,"items":{{"data":[{{"current_period_end":{},"price":{{"id":"price_storm"}}}}]}}}}"#,
                    t + month
                ),
            ));
            for r in 1..=RENEWALS {
                let reason = if r == 1 {
                    "subscription_create"
                } else {
                    "subscription_cycle"
                };
                let start = t + (r as i64 - 1) * month;
                unique.push(event(
                    &format!("evt_inv_{id}_{r}"),
                    "invoice.paid",
                    t + r as i64,
                    format!(
                        r#"{{"id":"in_storm_{id}_{r}","object":"invoice","amount_paid":{PRICE},"currency":"usd","billing_reason":"{reason}","parent":{{"type":"subscription_details","subscription_details":{{"subscription":"{sub}","metadata":{{"reference":"{reference}"}}}}}},"payments":{{"data":[{{"payment":{{"payment_intent":"pi_storm_{id}_{r}"}}}}]}},"lines":{{"data":[{{"period":{{"start":{start},"end":{}}}}}]}}}}"#,
                        start + month
                    ),
                ));
                x.payments += 1;
                x.amount_minor += PRICE;
            }
            x.subscriptions += 1;
        }
    }
    x.unique_events = unique.len();
    let mut out: Vec<Delivery> = unique
        .iter()
        .map(|b| Delivery {
            body: b.clone(),
            sign: Sign::Good,
        })
        .collect();
    // 20% of all deliveries are repeats and 5% are refused, so the unique events are 75%.
    let total = unique.len() * 4 / 3;
    for _ in 0..total / 5 {
        let b = &unique[rng.below(unique.len())];
        out.push(Delivery {
            body: b.clone(),
            sign: Sign::Good,
        });
    }
    for n in 0..total / 20 {
        let b = &unique[rng.below(unique.len())];
        out.push(Delivery {
            body: b.clone(),
            sign: if n % 2 == 0 {
                Sign::Forged
            } else {
                Sign::Stale
            },
        });
        x.refused += 1;
    }
    rng.shuffle(&mut out);
    x.deliveries = out.len();
    (out, x)
}

/// The `Stripe-Signature` header of a delivery, for the endpoint `secret` at `now`.
pub fn signature(d: &Delivery, secret: &str, now: i64) -> String {
    use boxoffice_payments::stripe::signature::header;
    match d.sign {
        Sign::Good => header(secret, now, d.body.as_bytes()),
        Sign::Forged => header("whsec_not_the_endpoint_secret", now, d.body.as_bytes()),
        Sign::Stale => header(secret, now - 400, d.body.as_bytes()),
    }
}
