"""Demo service desk: an office calendar, a policy per priority, recent tickets in every state."""

from __future__ import annotations

import datetime as dt

from rapport.core.demo import DemoContext, register
from rapport.core.permissions import Role
from rapport.customers.models import Contact
from rapport.service import services
from rapport.service.choices import Priority, TicketChannel, TicketStatus
from rapport.service.models import BusinessCalendar

MAX_TICKETS = 150
SUBJECTS = (
    "Boiler makes a knocking noise",
    "Invoice shows the wrong address",
    "Error E42 on the display",
    "Maintenance visit: can we move it?",
    "Spare part needed",
    "How do I reset the timer?",
    "Delivery arrived damaged",
    "Warranty question",
)
TARGETS = {  # first response, resolution (business minutes)
    Priority.URGENT: (30, 4 * 60),
    Priority.HIGH: (60, 8 * 60),
    Priority.NORMAL: (4 * 60, 3 * 8 * 60),
    Priority.LOW: (8 * 60, 5 * 8 * 60),
}


@register(55, "service desk")
def load(context: DemoContext) -> None:
    if BusinessCalendar.objects.exists():
        context.say("  service desk already set up")
        return
    calendar = services.create_calendar(
        None,
        name="Office hours",
        time_zone="Europe/Berlin",
        working_days=[0, 1, 2, 3, 4],
        day_start=dt.time(8, 30),
        day_end=dt.time(17, 30),
    )
    for year in (context.now.year, context.now.year + 1):
        services.add_holiday(None, calendar, dt.date(year, 1, 1), "New Year")
        services.add_holiday(None, calendar, dt.date(year, 12, 25), "Christmas Day")
    for priority, (first, resolution) in TARGETS.items():
        services.create_sla_policy(
            None,
            name=f"{Priority(priority).label} tickets",
            priority=priority,
            calendar=calendar,
            first_response_minutes=first,
            resolution_minutes=resolution,
            warning_minutes=60,
        )
    rng = context.rng
    agents = [u for u in context.made.get("users", []) if u.role == Role.SERVICE]
    count = min(MAX_TICKETS, max(10, context.contacts // 20))
    contact_ids = list(Contact.objects.order_by("id").values_list("id", flat=True)[: count * 3])
    if not contact_ids:
        context.say("  no contacts: no tickets")
        return
    contacts = Contact.objects.in_bulk(rng.sample(contact_ids, min(count, len(contact_ids))))
    made = 0
    for contact in contacts.values():
        opened = context.now - dt.timedelta(hours=rng.randint(1, 24 * 30))
        assignee = rng.choice(agents) if agents and rng.random() < 0.7 else None
        ticket = services.open_ticket(
            None,
            services.TicketInput(
                subject=rng.choice(SUBJECTS),
                description="Reported by the customer; details in the conversation.",
                contact=contact,
                priority=rng.choice(list(TARGETS)),
                assignee=assignee,
                team=assignee.team if assignee else None,
                channel=rng.choice(TicketChannel.values),
            ),
            now=opened,
        )
        made += 1
        roll = rng.random()
        if roll < 0.3:
            continue  # still new
        answered = opened + dt.timedelta(minutes=rng.randint(10, 600))
        if answered > context.now:
            continue
        # Demo replies are not e-mailed: they were "sent" before Rapport was installed.
        message = services.reply(
            assignee, ticket, "Thank you, we are looking into it.", now=answered
        )
        message.__class__.objects.filter(pk=message.pk).update(delivery="sent", sent_at=answered)
        if roll < 0.55:
            continue
        later = answered + dt.timedelta(hours=rng.randint(1, 72))
        if later > context.now:
            continue
        status = TicketStatus.PENDING_CUSTOMER if roll < 0.7 else TicketStatus.RESOLVED
        services.change_status(assignee, ticket, status, now=later)
    context.say(f"  1 calendar, {len(TARGETS)} SLA policies, {made} tickets")
