//! The payment gateways of the sandbox world and their part of the JSON line.

use serde_json::{Value, json};

use super::{PayPalFake, PlisioFake, StripeFake};

#[derive(Debug)]
pub struct PaymentFakes {
    pub stripe: StripeFake,
    pub paypal: PayPalFake,
    pub plisio: PlisioFake,
}

impl PaymentFakes {
    pub async fn start() -> crate::Result<Self> {
        Ok(PaymentFakes {
            stripe: StripeFake::start().await?,
            paypal: PayPalFake::start().await?,
            plisio: PlisioFake::start().await?,
        })
    }

    /// The default world: a monthly plan at each recurring gateway (Stripe price, PayPal plan).
    pub fn seed(&self) {
        self.stripe.add_price(999, "usd", "month", "Monthly access");
        self.paypal
            .add_plan("Monthly access", "9.99", "USD", "MONTH", 1);
    }

    /// Adds `stripe`, `paypal` and `plisio` to the sandbox's JSON line.
    pub fn describe_into(&self, line: &mut Value) {
        let (s, p, l) = (&self.stripe, &self.paypal, &self.plisio);
        let prices: Vec<Value> = s
            .prices()
            .iter()
            .map(|p| json!({"id": p["id"], "unit_amount": p["unit_amount"], "currency": p["currency"], "interval": p["recurring"]["interval"]}))
            .collect();
        line["stripe"] = json!({
            "url": s.url(), "control": s.control_url(), "secret_key": s.secret_key(),
            "publishable_key": s.publishable_key(), "webhook_secret": s.webhook_secret(), "prices": prices,
        });
        let plans: Vec<Value> = p
            .plans()
            .iter()
            .map(|pl| {
                let c = &pl["billing_cycles"][0];
                json!({"id": pl["id"], "name": pl["name"], "price": c["pricing_scheme"]["fixed_price"]["value"],
                       "currency": c["pricing_scheme"]["fixed_price"]["currency_code"], "interval_unit": c["frequency"]["interval_unit"]})
            })
            .collect();
        let mut accounts = json!({});
        for a in p.nvp_accounts() {
            accounts[a.role.as_str()] = json!({"email": a.email, "nvp_username": a.username, "nvp_password": a.password, "nvp_signature": a.signature});
        }
        line["paypal"] = json!({
            "url": p.url(), "nvp_url": p.nvp_url(), "control": p.control_url(), "client_id": p.client_id(),
            "client_secret": p.client_secret(), "webhook_id": p.webhook_id(), "cert_url": p.cert_url(),
            "plans": plans, "accounts": accounts,
        });
        line["plisio"] =
            json!({"url": l.api_url(), "control": l.control_url(), "api_key": l.api_key()});
    }
}
