"""Small wording on the pages: one sentence for a test's outcome, a destructive button that looks destructive and
asks first, and the digest preview's frame that is sized to the email."""

import pytest
from django.core import mail
from django.urls import reverse

from dashboard.notify.models import Channel, Delivery
from dashboard.web.views.notifications import test_outcome as outcome_of


@pytest.fixture
def ops(teams):
    return Channel.objects.create(team=teams[0], kind=Channel.Kind.EMAIL, name="ops", target="ops@example.com")


def test_a_test_to_an_email_channel_reads_as_one_sentence(client, alice, ops):
    client.force_login(alice)
    response = client.post(reverse("channel-action", args=[ops.pk]), {"action": "test"}, follow=True)
    shown = [str(message) for message in response.context["messages"]]
    assert len(mail.outbox) == 1
    assert shown == [f"Test to {ops}: sent to 1 recipient."]
    assert "Sent. sent" not in response.content.decode()


@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        (Delivery.Status.SENT, "sent to 2 recipients", "Test to ops: sent to 2 recipients."),
        (Delivery.Status.SENT, "", "Test to ops: sent."),
        (Delivery.Status.FAILED, "SMTP 451: try later.", "Test to ops: failed (will retry) (SMTP 451: try later)."),
    ],
)
def test_the_outcome_names_the_status_once(status, detail, expected):
    assert outcome_of("ops", Delivery(status=status, detail=detail)) == expected


def test_a_disabled_channel_says_it_was_skipped():
    assert outcome_of("ops", None) == "Test to ops: skipped, the channel is disabled."


def test_remove_is_styled_as_danger_and_asks_first(client, alice, ops):
    client.force_login(alice)
    page = client.get(reverse("notifications")).content.decode()
    assert 'data-confirm="Remove the channel ops?' in page
    assert '<button type="submit" class="danger">Remove</button>' in page
    assert "onsubmit" not in page and "onclick" not in page  # the question comes from static/js/confirm.js


def test_the_digest_frame_is_sized_by_a_static_script_and_runs_no_script_itself(client, alice):
    client.force_login(alice)
    page = client.get(reverse("digest-preview")).content.decode()
    assert "js/digest-frame.js" in page and "data-fit-content" in page
    assert 'sandbox="allow-same-origin allow-popups' in page and "allow-scripts" not in page
