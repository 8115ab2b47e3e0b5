"""Demo: the segments and the draft campaign a marketing team would start with."""

from __future__ import annotations

from typing import Any

from rapport.core.demo import DemoContext, register
from rapport.core.permissions import Role
from rapport.customers.models import Contact
from rapport.customers.queries import with_consent
from rapport.marketing import services
from rapport.marketing.choices import SegmentKind

CAMPAIGN_TEXT = """Hello {{ contact.first_name|default:"there" }},

thank you for being with us. {% if offers %}We picked these for you:
{% for offer in offers %}- {{ offer.name }}: {{ offer.explanation }}
{% endfor %}{% else %}Our service team is here whenever you need it.{% endif %}

Warm regards,
Your Rapport team
"""
CAMPAIGN_HTML = """<p>Hello {{ contact.first_name|default:"there" }},</p>
<p>thank you for being with us.</p>
{% if offers %}<ul>{% for offer in offers %}
<li><strong>{{ offer.name }}</strong>: {{ offer.explanation }}</li>
{% endfor %}</ul>{% endif %}
<p><a href="https://example.com/service">Book a service visit</a></p>
"""


# However large the address book, a trade fair brings a few thousand visitors at most.
MAX_VISITORS = 2000


def _rule(kind: str, **params: Any) -> dict[str, Any]:
    return {"kind": kind, **params}


@register(95, "segments and campaigns")
def load(context: DemoContext) -> None:
    marketer = next(
        (user for user in context.made.get("users", []) if user.role == Role.MARKETING), None
    )
    consented = _rule("consent", op="granted", channel="email", purpose="marketing")
    customers = services.create_segment(
        None,
        name="Customers open to e-mail",
        description="Customers and evangelists who agreed to marketing e-mail.",
        rules_tree={
            "op": "and",
            "rules": [
                {
                    "op": "or",
                    "rules": [
                        _rule("stage", op="is", value="customer"),
                        _rule("stage", op="is", value="evangelist"),
                    ],
                },
                consented,
            ],
        },
        owner=marketer,
    )
    services.create_segment(
        None,
        name="Valuable customers at risk",
        description="High lifetime value, falling away: worth a personal call.",
        rules_tree={"op": "and", "rules": [_rule("valuable_at_risk", op="is")]},
        owner=marketer,
    )
    services.create_segment(
        None,
        name="Service due within 30 days",
        rules_tree={"op": "and", "rules": [_rule("asset_due", value="30"), consented]},
        owner=marketer,
    )
    services.create_segment(
        None,
        name="Loyal buyers (3+ orders)",
        rules_tree={"op": "and", "rules": [_rule("order_count", op="gte", value="3")]},
        owner=marketer,
    )
    fair = services.create_segment(
        None, name="Trade fair visitors", kind=SegmentKind.STATIC, owner=marketer
    )
    visitors = with_consent(Contact.objects.live(), channel="email", purpose="marketing")
    picked = list(visitors.order_by("id")[: min(MAX_VISITORS, max(5, context.contacts // 50))])
    services.add_to_list(None, fair, picked)
    services.create_campaign(
        None,
        services.CampaignInput(
            name="Thank you and what's next",
            segment=customers,
            subject="{{ contact.first_name|default:'Hello' }}, something for you",
            text_body=CAMPAIGN_TEXT,
            html_body=CAMPAIGN_HTML,
            track_opens=True,
        ),
    )
    context.say(f"  5 segments ({len(picked)} on the trade fair list) and a draft campaign")
