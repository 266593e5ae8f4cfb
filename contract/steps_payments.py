"""Stripe, PayPal and Plisio, driven with the providers' own Python libraries: stripe-python with
`stripe.api_base` pointed at the fake; PayPal's server SDK (paypal-server-sdk) with a custom
environment whose base URI is the fake; Plisio's Python SDK with its API URL pointed at the fake.
Webhooks and callbacks are received on a local endpoint and checked with each provider's own
verification: stripe-python's `Webhook.construct_event`, PayPal's documented CRC32 + RSA
procedure (the SDK has no verifier) with the `cryptography` package, and Plisio's SDK
`validate_callback` (JSON) plus its PHP library's procedure (form)."""

import base64
import hashlib
import hmac
import json
import queue
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import requests

from harness import TIMEOUT, check, expect_raises, step

STRIPE_PY = "stripe/stripe-python"
STRIPE_WEBHOOK = f"{STRIPE_PY} stripe/_webhook.py (WebhookSignature.verify_header, tolerance 300 s)"
STRIPE_API = "docs.stripe.com/api (checkout/sessions, charges, refunds, subscriptions, errors)"
PAYPAL_SDK = "paypal/PayPal-Python-Server-SDK paypalserversdk/controllers/orders_controller.py"
PAYPAL_SPEC = "paypal/paypal-rest-api-specifications openapi/checkout_orders_v2.json"
PAYPAL_WEBHOOKS = "developer.paypal.com/api/rest/webhooks (verify signature: CRC32 + SHA256withRSA); paypal/PayPal-PHP-SDK samples"
PAYPAL_NVP = "developer.paypal.com/api/nvp-soap/transaction-search-nvp"
PLISIO_PY = "Plisio/plisio-python plisio/plisio_client.py (validate_callback)"
PLISIO_PHP = "Plisio/php-lib PlisioClient.php; Plisio/woocommerce-plugin (verifyCallbackData: ksort, serialize, hash_hmac sha1)"


class Hooks:
    """A webhook endpoint on 127.0.0.1 that answers 200 and queues each delivery."""

    def __init__(self):
        self.q = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.q.put((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def next_with(self, needle):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                h, b = self.q.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if needle.encode() in b:
                return h, b
        raise AssertionError(f"no delivery containing {needle!r} within {TIMEOUT}s")


def hooks(ctx):
    if "hooks" not in ctx.notes:
        ctx.notes["hooks"] = Hooks()
    return ctx.notes["hooks"]


def press(url, action):
    """Press a button on a fake's hosted page, as a browser submits the form; returns Location."""
    page = requests.get(url, timeout=TIMEOUT)
    check(page.status_code == 200 and f'value="{action}"' in page.text, f"no {action} button: {page.status_code} {page.text[:200]}")
    r = requests.post(url, data={"action": action}, allow_redirects=False, timeout=TIMEOUT)
    check(r.status_code in (302, 303), f"the page answered {r.status_code}, not a redirect")
    return r.headers["Location"]


# --- Stripe --------------------------------------------------------------------------------


def stripe_client(ctx):
    import stripe

    s = ctx.world["stripe"]
    stripe.api_key = s["secret_key"]
    stripe.api_base = s["url"]
    stripe.max_network_retries = 0
    requests.put(s["control"] + "/webhook", json={"url": hooks(ctx).url}, timeout=TIMEOUT)
    return stripe


@step("Stripe", "stripe.checkout.Session.create(mode='payment', line_items=[{price_data…}], client_reference_id)",
      "a cs_test_ session, status open, payment_status unpaid, a url to send the buyer to",
      f"{STRIPE_PY} stripe/checkout/_session.py; {STRIPE_API}")
def stripe_checkout_session_create(ctx):
    stripe = stripe_client(ctx)
    s = stripe.checkout.Session.create(
        mode="payment",
        line_items=[{"price_data": {"currency": "usd", "unit_amount": 1500, "product_data": {"name": "Plex 30 days"}}, "quantity": 1}],
        success_url="https://shop.example/done?sid={CHECKOUT_SESSION_ID}",
        cancel_url="https://shop.example/cancel",
        client_reference_id="order_42",
        customer_email="buyer@example.com",
        idempotency_key="contract:checkout:1",
    )
    check(s.id.startswith("cs_test_") and s.status == "open" and s.payment_status == "unpaid" and s.url, f"{s}")
    check(s.amount_total == 1500 and s.currency == "usd", f"{s.amount_total} {s.currency}")
    ctx.notes["cs"] = s


@step("Stripe", "Session.create again with the same Idempotency-Key, then with other parameters",
      "the same session; with other parameters stripe.IdempotencyError",
      f"docs.stripe.com/api/idempotent_requests; {STRIPE_PY} stripe/_error.py")
def stripe_idempotency_key_replays_and_refuses(ctx):
    stripe = stripe_client(ctx)
    same = dict(mode="payment",
                line_items=[{"price_data": {"currency": "usd", "unit_amount": 1500, "product_data": {"name": "Plex 30 days"}}, "quantity": 1}],
                success_url="https://shop.example/done?sid={CHECKOUT_SESSION_ID}", cancel_url="https://shop.example/cancel",
                client_reference_id="order_42", customer_email="buyer@example.com", idempotency_key="contract:checkout:1")
    again = stripe.checkout.Session.create(**same)
    check(again.id == ctx.notes["cs"].id, f"{again.id} != {ctx.notes['cs'].id}")
    same["line_items"][0]["price_data"]["unit_amount"] = 1600
    expect_raises(stripe.IdempotencyError, lambda: stripe.checkout.Session.create(**same), "other parameters, same key")


@step("Stripe", "the buyer presses Pay on session.url; stripe.checkout.Session.retrieve(id)",
      "redirect to success_url with {CHECKOUT_SESSION_ID} replaced; status complete, payment_status paid, a payment_intent",
      f"{STRIPE_API} (checkout session object); docs.stripe.com/payments/checkout/custom-success-page")
def stripe_pay_then_retrieve(ctx):
    stripe = stripe_client(ctx)
    cs = ctx.notes["cs"]
    back = press(cs.url, "pay")
    check(back == f"https://shop.example/done?sid={cs.id}", back)
    s = stripe.checkout.Session.retrieve(cs.id)
    check(s.status == "complete" and s.payment_status == "paid" and s.payment_intent.startswith("pi_"), f"{s.status} {s.payment_status}")
    ctx.notes["pi"] = s.payment_intent


@step("Stripe", "stripe.Webhook.construct_event(body, Stripe-Signature, whsec) on the delivered checkout.session.completed",
      "an Event of that type; the same body with one byte changed raises SignatureVerificationError",
      STRIPE_WEBHOOK)
def stripe_webhook_construct_event(ctx):
    stripe = stripe_client(ctx)
    h, body = hooks(ctx).next_with('"checkout.session.completed"')
    sig = h.get("Stripe-Signature") or h.get("stripe-signature")
    secret = ctx.world["stripe"]["webhook_secret"]
    ev = stripe.Webhook.construct_event(body.decode(), sig, secret)
    check(ev.type == "checkout.session.completed" and ev.data.object.client_reference_id == "order_42", f"{ev.type}")
    tampered = body.decode().replace('"order_42"', '"order_43"')
    expect_raises(stripe.SignatureVerificationError, lambda: stripe.Webhook.construct_event(tampered, sig, secret), "tampered body")
    expect_raises(stripe.SignatureVerificationError, lambda: stripe.Webhook.construct_event(body.decode(), sig, secret + "x"), "wrong secret")


@step("Stripe", "stripe.Charge.list(limit=10, expand=['data.balance_transaction']) (boxoffice: sync)",
      "a list, newest first, holding the paid charge with its fee and net",
      f"{STRIPE_API} (list charges, expand); {STRIPE_PY} stripe/_list_object.py")
def stripe_charge_list(ctx):
    stripe = stripe_client(ctx)
    charges = stripe.Charge.list(limit=10, expand=["data.balance_transaction"])
    ch = next((c for c in charges.auto_paging_iter() if c.payment_intent == ctx.notes["pi"]), None)
    check(ch is not None, "the paid charge is not listed")
    check(ch.amount == 1500 and ch.paid and ch.balance_transaction.fee > 0, f"{ch.amount} {ch.balance_transaction}")
    ctx.notes["ch"] = ch.id


@step("Stripe", "stripe.Refund.create(payment_intent, amount=500); stripe.Charge.retrieve(charge)",
      "a succeeded refund; the charge has amount_refunded 500 and refunded false",
      f"{STRIPE_API} (refunds)")
def stripe_refund(ctx):
    stripe = stripe_client(ctx)
    r = stripe.Refund.create(payment_intent=ctx.notes["pi"], amount=500, idempotency_key="contract:refund:1")
    check(r.status == "succeeded" and r.amount == 500, f"{r}")
    ch = stripe.Charge.retrieve(ctx.notes["ch"])
    check(ch.amount_refunded == 500 and ch.refunded is False, f"{ch.amount_refunded} {ch.refunded}")


@step("Stripe", "subscription checkout with the world's price, paid; Subscription.retrieve, modify(cancel_at_period_end), cancel",
      "an active subscription with items.data[0].current_period_end (basil); cancel_at_period_end true; then status canceled",
      f"{STRIPE_API} (subscriptions); docs.stripe.com/changelog/basil/2025-03-31")
def stripe_subscription_lifecycle(ctx):
    stripe = stripe_client(ctx)
    price = ctx.world["stripe"]["prices"][0]["id"]
    s = stripe.checkout.Session.create(mode="subscription", line_items=[{"price": price, "quantity": 1}],
                                       success_url="https://shop.example/ok", cancel_url="https://shop.example/no",
                                       client_reference_id="purchase_77", subscription_data={"metadata": {"reference": "purchase_77"}})
    press(s.url, "pay")
    s = stripe.checkout.Session.retrieve(s.id)
    sub = stripe.Subscription.retrieve(s.subscription)
    item = sub["items"]["data"][0]
    check(sub.status == "active" and item["current_period_end"] > item["current_period_start"], f"{sub.status}")
    sub = stripe.Subscription.modify(sub.id, cancel_at_period_end=True)
    check(sub.cancel_at_period_end is True, f"{sub.cancel_at_period_end}")
    sub = stripe.Subscription.cancel(sub.id)
    check(sub.status == "canceled", sub.status)


@step("Stripe", "stripe.Charge.retrieve('ch_missing'); a wrong secret key",
      "InvalidRequestError 404 code resource_missing; AuthenticationError 401",
      f"docs.stripe.com/api/errors; {STRIPE_PY} stripe/_api_requestor.py (error mapping)")
def stripe_errors(ctx):
    stripe = stripe_client(ctx)
    e = expect_raises(stripe.InvalidRequestError, lambda: stripe.Charge.retrieve("ch_missing"), "unknown charge")
    check(e.http_status == 404 and e.code == "resource_missing", f"{e.http_status} {e.code}")
    expect_raises(stripe.AuthenticationError, lambda: stripe.Charge.list(api_key="sk_test_wrong"), "wrong key")


@step("Stripe", "fault {path: /v1/charges, action: rate_limit} then stripe.Charge.list",
      "RateLimitError (429, code rate_limit)",
      f"docs.stripe.com/rate-limits; {STRIPE_PY} stripe/_api_requestor.py")
def stripe_rate_limit_fault(ctx):
    stripe = stripe_client(ctx)
    ctx.control("Stripe").fault({"path": "/v1/charges", "method": "GET", "remaining": 1, "action": {"type": "rate_limit", "retry_after": 2}})
    e = expect_raises(stripe.RateLimitError, lambda: stripe.Charge.list(limit=1), "rate-limited list")
    check(e.http_status == 429, f"{e.http_status}")


# --- PayPal --------------------------------------------------------------------------------


def paypal_client(ctx):
    from paypalserversdk.configuration import Configuration, Environment, Server
    from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
    from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

    p = ctx.world["paypal"]

    class FakeEnvironment(Configuration):
        # The SDK resolves its base URI from this table (configuration.py get_base_uri).
        environments = {Environment.SANDBOX: {Server.DEFAULT: p["url"]}, Environment.PRODUCTION: {Server.DEFAULT: p["url"]}}

    cfg = FakeEnvironment(environment=Environment.SANDBOX, timeout=TIMEOUT,
                          client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                              o_auth_client_id=p["client_id"], o_auth_client_secret=p["client_secret"]))
    requests.put(p["control"] + "/webhook", json={"url": hooks(ctx).url}, timeout=TIMEOUT)
    return PaypalServersdkClient(config=cfg)


def order_request(reference):
    from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
    from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
    from paypalserversdk.models.order_request import OrderRequest
    from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest

    return OrderRequest(intent=CheckoutPaymentIntent.CAPTURE, purchase_units=[
        PurchaseUnitRequest(amount=AmountWithBreakdown(currency_code="USD", value="10.00"), custom_id=reference, reference_id=reference,
                            description="Jellyfin access, 30 days")])


@step("PayPal", "PaypalServersdkClient (custom environment): orders.create_order(body, paypal_request_id, prefer)",
      "OAuth client credentials, then 201 with an order id, status CREATED and an approve link",
      f"{PAYPAL_SDK} (create_order); {PAYPAL_SPEC}")
def paypal_create_order(ctx):
    c = paypal_client(ctx)
    r = c.orders.create_order({"body": order_request("purchase_78"), "paypal_request_id": "contract:order:1", "prefer": "return=representation"})
    check(r.status_code == 201 and r.body.id and r.body.status == "CREATED", f"{r.status_code} {r.body}")
    approve = next((l.href for l in r.body.links if l.rel == "approve"), None)
    check(approve, "no approve link")
    ctx.notes["pp_order"] = (r.body.id, approve)


@step("PayPal", "orders.create_order again with the same PayPal-Request-Id",
      "200 (not 201) with the same order", f"{PAYPAL_SPEC} (PayPal-Request-Id); developer.paypal.com/api/rest/reference/idempotency")
def paypal_request_id_replay(ctx):
    c = paypal_client(ctx)
    r = c.orders.create_order({"body": order_request("purchase_78"), "paypal_request_id": "contract:order:1", "prefer": "return=representation"})
    check(r.status_code == 200 and r.body.id == ctx.notes["pp_order"][0], f"{r.status_code} {r.body.id}")


@step("PayPal", "orders.capture_order before approval",
      "ErrorException 422 with issue ORDER_NOT_APPROVED", f"{PAYPAL_SPEC} (capture errors); {PAYPAL_SDK}")
def paypal_capture_unapproved(ctx):
    from paypalserversdk.exceptions.error_exception import ErrorException

    c = paypal_client(ctx)
    oid = ctx.notes["pp_order"][0]
    e = expect_raises(ErrorException, lambda: c.orders.capture_order({"id": oid, "prefer": "return=representation"}), "capture before approval")
    check(e.response_code == 422 and e.details[0].issue == "ORDER_NOT_APPROVED", f"{e.response_code} {e.details}")


@step("PayPal", "the buyer presses Approve on the approve link; orders.capture_order(id, paypal_request_id)",
      "redirect to return_url with token and PayerID; 201 COMPLETED with one capture (the transaction id)",
      f"{PAYPAL_SPEC}; developer.paypal.com/docs/checkout/standard/integrate")
def paypal_approve_and_capture(ctx):
    c = paypal_client(ctx)
    oid, approve = ctx.notes["pp_order"]
    back = press(approve, "approve")
    # The order was made without return_url: PayPal then has nowhere to send the buyer but its own page.
    check(f"token={oid}" in back and "PayerID=" in back, back)
    r = c.orders.capture_order({"id": oid, "prefer": "return=representation", "paypal_request_id": "contract:capture:1"})
    cap = r.body.purchase_units[0].payments.captures[0]
    check(r.status_code == 201 and r.body.status == "COMPLETED" and cap.status == "COMPLETED" and cap.amount.value == "10.00", f"{r.status_code} {r.body.status}")
    ctx.notes["pp_capture"] = cap.id


@step("PayPal", "the delivered PAYMENT.CAPTURE.COMPLETED, verified as PayPal documents (no SDK verifier)",
      "CRC32(body) in decimal, message id|time|webhook_id|crc, SHA256withRSA with the certificate at PAYPAL-CERT-URL; a changed byte fails",
      PAYPAL_WEBHOOKS)
def paypal_webhook_signature(ctx):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.exceptions import InvalidSignature

    h, body = hooks(ctx).next_with("PAYMENT.CAPTURE.COMPLETED")
    h = {k.upper(): v for k, v in h.items()}
    p = ctx.world["paypal"]
    check(h["PAYPAL-AUTH-ALGO"] == "SHA256withRSA" and h["PAYPAL-CERT-URL"] == p["cert_url"], f"{h}")
    cert = x509.load_pem_x509_certificate(requests.get(h["PAYPAL-CERT-URL"], timeout=TIMEOUT).content)

    def verify(b):
        msg = f'{h["PAYPAL-TRANSMISSION-ID"]}|{h["PAYPAL-TRANSMISSION-TIME"]}|{p["webhook_id"]}|{zlib.crc32(b) & 0xffffffff}'
        cert.public_key().verify(base64.b64decode(h["PAYPAL-TRANSMISSION-SIG"]), msg.encode(), padding.PKCS1v15(), hashes.SHA256())

    verify(body)
    check(json.loads(body)["resource"]["id"] == ctx.notes["pp_capture"], "another capture")
    expect_raises(InvalidSignature, lambda: verify(body.replace(b'"10.00"', b'"10.01"')), "tampered body")


@step("PayPal", "POST /v1/notifications/verify-webhook-signature with the raw event (SDK's OAuth token)",
      "verification_status SUCCESS for the delivery as sent, FAILURE for another webhook id",
      "paypal/paypal-rest-api-specifications openapi/notifications_webhooks_v1.json")
def paypal_verify_webhook_postback(ctx):
    c = paypal_client(ctx)
    token = c.oauth_2.fetch_token().access_token
    # A fresh delivery of the capture event (resend), checked by asking PayPal.
    p = ctx.world["paypal"]
    events = requests.get(p["url"] + "/v1/notifications/webhooks-events", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT).json()["events"]
    ev = next(e for e in events if e["event_type"] == "PAYMENT.CAPTURE.COMPLETED")
    requests.post(p["url"] + f"/v1/notifications/webhooks-events/{ev['id']}/resend", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    h, body = hooks(ctx).next_with(ev["id"])
    h = {k.upper(): v for k, v in h.items()}

    def ask(webhook_id):
        req = (f'{{"auth_algo":{json.dumps(h["PAYPAL-AUTH-ALGO"])},"cert_url":{json.dumps(h["PAYPAL-CERT-URL"])},'
               f'"transmission_id":{json.dumps(h["PAYPAL-TRANSMISSION-ID"])},"transmission_sig":{json.dumps(h["PAYPAL-TRANSMISSION-SIG"])},'
               f'"transmission_time":{json.dumps(h["PAYPAL-TRANSMISSION-TIME"])},"webhook_id":{json.dumps(webhook_id)},"webhook_event":{body.decode()}}}')
        return requests.post(p["url"] + "/v1/notifications/verify-webhook-signature", data=req,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, timeout=TIMEOUT).json()

    check(ask(p["webhook_id"])["verification_status"] == "SUCCESS", "the delivery as sent")
    check(ask("WH-NOT-OURS")["verification_status"] == "FAILURE", "another webhook id")


@step("PayPal", "NVP TransactionSearch on the secondary account after a payment received outside checkout",
      "ACK=Success with L_TRANSACTIONID0, L_EMAIL0, L_AMT0 of that payment; bad credentials ACK=Failure 10002",
      PAYPAL_NVP)
def paypal_nvp_search_secondary(ctx):
    p = ctx.world["paypal"]
    requests.post(p["control"] + "/payments", json={"account": "secondary", "amount": "12.50", "email": "friend@example.com", "name": "Pat Friend"}, timeout=TIMEOUT)
    a = p["accounts"]["secondary"]
    form = {"USER": a["nvp_username"], "PWD": a["nvp_password"], "SIGNATURE": a["nvp_signature"], "VERSION": "204.0",
            "METHOD": "TransactionSearch", "STARTDATE": "2020-01-01T00:00:00Z"}
    r = dict(parse_qsl(requests.post(p["nvp_url"], data=form, timeout=TIMEOUT).text))
    check(r["ACK"] == "Success" and r["L_EMAIL0"] == "friend@example.com" and r["L_AMT0"] == "12.50", f"{r}")
    form["PWD"] = "wrong"
    r = dict(parse_qsl(requests.post(p["nvp_url"], data=form, timeout=TIMEOUT).text))
    check(r["ACK"] == "Failure" and r["L_ERRORCODE0"] == "10002", f"{r}")


@step("PayPal", "fault {path: /v2/checkout/orders, action: status 503} then orders.create_order",
      "ErrorException 503 with name SERVICE_UNAVAILABLE", f"{PAYPAL_SPEC} (error model)")
def paypal_fault_503(ctx):
    from paypalserversdk.exceptions.error_exception import ErrorException

    c = paypal_client(ctx)
    ctx.control("PayPal").fault({"path": "/v2/checkout/orders", "method": "POST", "remaining": 1, "action": {"type": "status", "status": 503}})
    e = expect_raises(ErrorException, lambda: c.orders.create_order({"body": order_request("p_503")}), "503")
    check(e.response_code == 503 and e.name == "SERVICE_UNAVAILABLE", f"{e.response_code} {e.name}")


# --- Plisio --------------------------------------------------------------------------------


def plisio_client(ctx):
    import plisio

    c = plisio.PlisioClient(api_key=ctx.world["plisio"]["api_key"])
    # The SDK keeps its API URL in a private class attribute; point this instance at the fake.
    c._BaseClient__api_url = ctx.world["plisio"]["url"].rstrip("/") + "/"
    return c


@step("Plisio", "PlisioClient.invoice(currency, order_name, order_number, source_currency, source_amount, callback_url?json=true)",
      "an Invoice with txn_id and invoice_url", f"{PLISIO_PY} (invoice); plisio.net/documentation/endpoints/create-an-invoice")
def plisio_create_invoice(ctx):
    import plisio

    c = plisio_client(ctx)
    inv = c.invoice(plisio.CryptoCurrency.BTC, "Plex 1 month", 1001, source_currency=plisio.FiatCurrency.USD, source_amount=10.0,
                    callback_url=hooks(ctx).url + "?json=true", email="buyer@example.com")
    check(inv.txn_id and inv.invoice_url.endswith(inv.txn_id), f"{inv.__dict__}")
    ctx.notes["plisio_txn"] = inv.txn_id


@step("Plisio", "the buyer presses Pay on invoice_url; the JSON callback checked with PlisioClient.validate_callback",
      "a callback with status completed whose verify_hash validates; a changed byte does not",
      PLISIO_PY)
def plisio_json_callback(ctx):
    c = plisio_client(ctx)
    txn = ctx.notes["plisio_txn"]
    page = f"{ctx.world['plisio']['url'].rsplit('/api/v1', 1)[0]}/invoice/{txn}"
    check('value="pay"' in requests.get(page, timeout=TIMEOUT).text, "no Pay button")
    # Made without success_callback_url, so Plisio keeps the buyer on its own status page.
    r = requests.post(page, data={"action": "pay"}, allow_redirects=False, timeout=TIMEOUT)
    check(r.status_code == 200 and "completed" in r.text, f"{r.status_code} {r.text[:200]}")
    h, body = hooks(ctx).next_with(txn)
    data = json.loads(body)
    check(data["status"] == "completed" and data["order_number"] == "1001", f"{data}")
    check(c.validate_callback(body.decode()), "validate_callback refused the fake's callback")
    check(not c.validate_callback(body.decode().replace('"completed"', '"completes"')), "a changed body validated")


@step("Plisio", "a form-encoded callback (no json=true) checked as Plisio's PHP library does",
      "HMAC-SHA1(secret, serialize(ksort(fields without verify_hash))) equals verify_hash",
      PLISIO_PHP)
def plisio_form_callback(ctx):
    import plisio

    c = plisio_client(ctx)
    inv = c.invoice(plisio.CryptoCurrency.BTC, "Plex 1 month", 1002, source_currency=plisio.FiatCurrency.USD, source_amount=10.0,
                    callback_url=hooks(ctx).url)
    requests.post(f"{ctx.world['plisio']['control']}/invoices/{inv.txn_id}/status", json={"status": "completed"}, timeout=TIMEOUT)
    h, body = hooks(ctx).next_with(inv.txn_id)
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    given = fields.pop("verify_hash")

    def php_serialize(d):
        items = "".join(f's:{len(k.encode())}:"{k}";s:{len(v.encode())}:"{v}";' for k, v in sorted(d.items()))
        return f"a:{len(d)}:{{{items}}}"

    key = ctx.world["plisio"]["api_key"].encode()
    check(hmac.new(key, php_serialize(fields).encode(), hashlib.sha1).hexdigest() == given, "the form hash does not match")
    fields["status"] = "completes"
    check(hmac.new(key, php_serialize(fields).encode(), hashlib.sha1).hexdigest() != given, "a changed field matched")


@step("Plisio", "PlisioClient.get_operations(); get_operation(txn_id); a wrong api_key",
      "the paid invoice with status completed and its order number; UnauthorizedError",
      f"{PLISIO_PY} (get_operations, get_operation, error mapping)")
def plisio_operations(ctx):
    import plisio

    c = plisio_client(ctx)
    # The SDK turns a `type_` filter into an enum member and sends its repr, so no filter here.
    ops = c.get_operations(limit=100)
    txn = ctx.notes["plisio_txn"]
    op = next((o for o in ops.operations if o.id == txn), None)
    check(op is not None and op.status == plisio.OperationStatus.completed and op.params.order_number == "1001", f"{op and op.__dict__}")
    one = c.get_operation(txn)
    check(one.id == txn, one.id)
    bad = plisio.PlisioClient(api_key="wrong")
    bad._BaseClient__api_url = c._BaseClient__api_url
    expect_raises(plisio.UnauthorizedError, lambda: bad.get_operation(txn), "wrong api key")
