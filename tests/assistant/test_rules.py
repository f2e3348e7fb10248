"""Without a model, the rule-based parser answers the six questions in English, Hindi and
romanised Hindi, from the tools' results only."""

from __future__ import annotations

import pytest
from django.utils import timezone

from shelfwatch.alerts.models import Subscription
from shelfwatch.assistant import engine
from shelfwatch.assistant.intents import parse
from shelfwatch.notify.models import Contact


def ask(caller, message: str, conversation_id=None) -> engine.Answer:
    return engine.answer(
        caller=caller,
        message=message,
        conversation_id=conversation_id,
        owner=engine.owner_of(caller),
    )


@pytest.mark.parametrize(
    ("question", "kind", "product", "language"),
    [
        ("Is Amul butter in stock at this store?", "stock", "amul butter", "en"),
        ("What does amul butter cost?", "price", "amul butter", "en"),
        ("What is like amul butter?", "similar", "amul butter", "en"),
        ("Where is my order #12?", "order", "", "en"),
        ("How many points do I have?", "points", "", "en"),
        ("Tell me when the sourdough loaf is back", "alert", "sourdough loaf", "en"),
        ("kya amul butter stock mein hai", "stock", "amul butter", "hi"),
        ("amul butter kitne ka hai", "price", "amul butter", "hi"),
        ("amul butter jaisa kuch dikhao", "similar", "amul butter", "hi"),
        ("mera order kahan hai", "order", "", "hi"),
        ("mere points kitne hain", "points", "", "hi"),
        ("jab sourdough wapas aaye to batana", "alert", "sourdough", "hi"),
        ("क्या अमूल मक्खन स्टॉक में है?", "stock", "अमूल मक्खन", "hi"),
        ("अमूल मक्खन कितने का है", "price", "अमूल मक्खन", "hi"),
        ("अमूल मक्खन जैसा कुछ दिखाओ", "similar", "अमूल मक्खन", "hi"),
        ("मेरा ऑर्डर कहाँ है", "order", "", "hi"),
        ("मेरे कितने पॉइंट्स हैं", "points", "", "hi"),
        ("जब अमूल मक्खन वापस आए तो मुझे बताना", "alert", "अमूल मक्खन", "hi"),
        ("Is butter back in stock?", "stock", "butter", "en"),
        ("hello", "help", "", "en"),
    ],
)
def test_questions_are_read_in_english_hindi_and_romanised_hindi(question, kind, product, language):
    intent = parse(question)
    assert (intent.kind, intent.product, intent.language) == (kind, product, language)


def test_the_page_language_decides_when_the_question_is_not_plainly_hindi():
    assert parse("amul butter", default_language="hi").language == "hi"
    assert parse("amul butter", default_language="en").language == "en"


def test_stock_at_the_chosen_store_in_english_and_hindi(shop, caller_at):
    answer = ask(caller_at(), "Is Amul butter in stock at this store?")
    assert answer.source == "rules"
    assert answer.text == (
        "Yes, Amul Butter 500 g is in stock at Maple Street Bakery: 12 left, at ₹275.00."
    )
    hindi = ask(caller_at(), "क्या अमूल मक्खन स्टॉक में है?")
    assert hindi.language == "hi"
    assert hindi.text == "हाँ, अमूल मक्खन Maple Street Bakery में स्टॉक में है: 12 बचे हैं, कीमत ₹275.00।"
    roman = ask(caller_at(), "kya sourdough loaf stock mein hai")
    assert roman.text == "Sourdough Country Loaf अभी Maple Street Bakery में स्टॉक में नहीं है।"


def test_price_and_a_product_the_store_does_not_keep(shop, caller_at):
    assert ask(caller_at(), "What does amul butter cost?").text == (
        "Amul Butter 500 g costs ₹275.00 at Maple Street Bakery."
    )
    assert ask(caller_at(), "अमूल मक्खन कितने का है").text == (
        "Maple Street Bakery में अमूल मक्खन की कीमत ₹275.00 है।"
    )
    assert ask(caller_at(), "how much is basmati rice?").text == (
        "Maple Street Bakery does not keep India Gate Basmati Rice."
    )
    assert ask(caller_at(), "price of unicorn milk").text == (
        "I could not find “unicorn milk” in our catalog."
    )


def test_without_a_store_every_store_that_keeps_it_is_listed(shop, caller_at):
    text = ask(caller_at(store=False), "is amul butter available").text
    assert text == (
        "Amul Butter 500 g: Harbor Market is out of it; Maple Street Bakery has 12 at ₹275.00."
    )


def test_what_is_like_a_product(shop, caller_at):
    text = ask(caller_at(), "What is like amul butter?").text
    assert text.startswith("Like Amul Butter 500 g: ")
    assert "Amul Lite Butter 500 g (₹245.00)" in text


def test_order_status_of_the_callers_own_orders(shop, caller_at):
    number = shop.shopper_order.pk
    text = ask(caller_at(shop.shopper), "Where is my order?").text
    assert text == (
        f"Order #{number} (placed 28 Nov 2026 at Maple Street Bakery): out for delivery. "
        "Total ₹550.00."
    )
    hindi = ask(caller_at(shop.shopper), f"mera order {number} kahan hai").text
    assert hindi == (
        f"ऑर्डर #{number} (28/11/2026 को Maple Street Bakery में दिया गया): "
        "डिलीवरी के लिए निकल चुका है। कुल ₹550.00।"
    )


def test_a_guest_sees_the_orders_of_their_own_session_only(shop, caller_at):
    guest = caller_at(session_key="guest-session-key")
    assert f"Order #{shop.guest_order.pk} " in ask(guest, "where is my order").text
    stranger = caller_at(session_key="another-session")
    assert ask(stranger, "where is my order").text.startswith("I cannot see any orders of yours.")
    assert ask(caller_at(), f"where is order {shop.guest_order.pk}").text == (
        f"I cannot find order #{shop.guest_order.pk} among your orders."
    )


def test_points_for_the_signed_in_shopper_and_a_guest(shop, caller_at):
    assert ask(caller_at(shop.shopper), "How many points do I have?").text == (
        "You have 120 points at Maple Street Bakery (worth ₹60.00)."
    )
    assert ask(caller_at(shop.shopper), "मेरे कितने पॉइंट्स हैं").text == (
        "Maple Street Bakery में आपके 120 पॉइंट्स हैं (मूल्य ₹60.00)।"
    )
    assert ask(caller_at(), "how many points do I have").text == "Sign in to see your points."


def test_tell_me_when_it_is_back_subscribes_a_verified_contact(shop, caller_at):
    Contact.objects.create(
        user=shop.shopper,
        channel="email",
        address="shopper@example.com",
        verified_at=timezone.now(),
    )
    text = ask(caller_at(shop.shopper), "Tell me when the sourdough loaf is back").text
    assert (
        text == "Done: we will tell you when Sourdough Country Loaf is back at Maple Street Bakery."
    )
    subscription = Subscription.objects.get(contact__user=shop.shopper)
    assert subscription.item.external_id == str(shop.bakery.bread.pk)


def test_tell_me_when_it_is_back_without_a_contact_gives_the_subscribe_link(shop, caller_at):
    text = ask(caller_at(), "jab sourdough wapas aaye to batana").text
    assert "अलर्ट पेज पर अपना संपर्क जोड़ें: /subscribe?source=" in text
    assert not Subscription.objects.exists()


def test_a_question_without_a_product_gets_the_help_text(shop, caller_at):
    assert ask(caller_at(), "hello").text.startswith("I can tell you whether a product")


def test_a_conversation_keeps_its_last_turns_only(shop, caller_at, settings):
    from shelfwatch.assistant import conversation

    settings.ASSISTANT_KEEP_TURNS = 2
    caller = caller_at(shop.shopper)
    first = ask(caller, "What does amul butter cost?")
    for question in ("how many points do I have", "where is my order", "is amul butter in stock"):
        answer = ask(caller, question, first.conversation_id)
        assert answer.conversation_id == first.conversation_id
    kept = conversation.load(first.conversation_id, owner=engine.owner_of(caller))
    assert [turn.question for turn in kept.turns] == [
        "where is my order",
        "is amul butter in stock",
    ]
    # Someone else presenting the id gets a new, empty conversation.
    other = conversation.load(first.conversation_id, owner="user:999999")
    assert other.id != first.conversation_id and other.turns == []


def test_the_order_date_is_the_stores_day_not_the_utc_one(shop, caller_at):
    # 20:00 UTC on 28 November is 01:30 on 29 November in Kolkata, where the store is.
    from datetime import UTC, datetime

    from shelfwatch.shop.models import Order

    shop.bakery.store.timezone = "Asia/Kolkata"
    shop.bakery.store.save(update_fields=["timezone"])
    Order.objects.filter(pk=shop.shopper_order.pk).update(
        created_at=datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
    )
    text = ask(caller_at(shop.shopper), f"Where is order {shop.shopper_order.pk}?").text
    assert "(placed 29 Nov 2026 at Maple Street Bakery)" in text
