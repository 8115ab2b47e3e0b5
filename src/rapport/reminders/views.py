"""My day, the task list, editing, quick add, complete in place, and the calendar feed."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from rapport.core.htmx import render_page_or_partial
from rapport.core.lists import build_list
from rapport.core.permissions import Action, can, require
from rapport.core.services import ConflictError
from rapport.customers import queries as customer_queries
from rapport.customers.models import Company, Contact
from rapport.reminders import calendar, panels, queries, services, tables
from rapport.reminders.choices import Priority
from rapport.reminders.filtersets import TaskFilterSet
from rapport.reminders.forms import QuickTaskForm, TaskForm
from rapport.reminders.models import Task
from rapport.users.models import User, signed_in

ISSUED_FEED_SESSION_KEY = "reminders.issued_feed"


def _mark_changeable(user: User, tasks: list[Task]) -> list[Task]:
    """Rows show complete/reopen only where the person may change the task."""
    for task in tasks:
        task.may_change = can(user, Action.CHANGE, task)  # type: ignore[attr-defined]
    return tasks


def _messages_of(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [message for messages in error.message_dict.values() for message in messages]
    return list(error.messages)


def _day_context(request: HttpRequest, form: QuickTaskForm | None = None) -> dict[str, Any]:
    user = signed_in(request)
    buckets = queries.my_day(user)
    for rows in buckets.values():
        _mark_changeable(user, rows)
    return {
        "buckets": buckets,
        "sections": [
            ("overdue", "Overdue", buckets["overdue"]),
            ("today", "Today", buckets["today"]),
            ("upcoming", f"Next {queries.UPCOMING_DAYS} days", buckets["upcoming"]),
        ],
        "form": form or QuickTaskForm(),
        "can_add": can(user, Action.ADD, Task),
        "feed": queries.live_feed(user),
    }


@login_required
def my_day(request: HttpRequest) -> HttpResponse:
    require(signed_in(request), Action.VIEW, Task)
    context = _day_context(request)
    issued = request.session.pop(ISSUED_FEED_SESSION_KEY, None)
    if issued is not None:
        context["issued_feed_url"] = request.build_absolute_uri(
            reverse("reminders:calendar-feed", args=[issued])
        )
    response = render_page_or_partial(request, "reminders/my_day.html", context, partial="day")
    if issued is not None:
        response["Cache-Control"] = "no-store"  # the secret address, not from the back button
    return response


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, Task)
    state = build_list(request, tables.TASKS, queries.tasks(user), TaskFilterSet)
    _mark_changeable(user, state.page.items)
    context = {
        "list": state,
        "can_add": can(user, Action.ADD, Task),
        "can_export": can(user, Action.EXPORT, Task),
    }
    return render_page_or_partial(request, "reminders/list.html", context, partial="results")


@login_required
@require_POST
def task_add(request: HttpRequest) -> HttpResponse:
    """Quick add from My day or from a customer's Tasks panel (assigned to oneself)."""
    user = signed_in(request)
    require(user, Action.ADD, Task)
    form = QuickTaskForm(request.POST)
    record = _customer_of(user, request.POST)
    errors: list[str] = []
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.create_task(
                user,
                services.TaskInput(
                    title=data["title"],
                    due_date=data["due_date"],
                    due_time=data["due_time"],
                    priority=data["priority"] or Priority.NORMAL,
                    recurrence=data["recurrence"],
                    assignee=user,
                    contact=record if isinstance(record, Contact) else None,
                    company=record if isinstance(record, Company) else None,
                ),
            )
        except ValidationError as error:
            errors = _messages_of(error)
            for message in errors:
                form.add_error(None, message)
        except PermissionDenied as error:
            errors = [str(error) or "Your role does not allow this."]
            form.add_error(None, errors[0])
    else:
        errors = [
            f"{name}: {' '.join(str(text) for text in texts)}"
            for name, texts in form.errors.items()
        ]
    if request.htmx and record is not None:  # type: ignore[attr-defined]
        data_of_panel = panels.panel_data(user, record) or {}
        data_of_panel["errors"] = errors
        return render(request, "reminders/_panel.html#panel", {"panel": {"data": data_of_panel}})
    if request.htmx:  # type: ignore[attr-defined]
        fresh = form if errors else None
        return render(request, "reminders/my_day.html#day", _day_context(request, fresh))
    if errors:
        messages.error(request, " ".join(errors))
    else:
        messages.success(request, "Task added.")
    return redirect(_back(request))


@login_required
@require_POST
def task_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    """Complete, reopen or trash one task; htmx gets the task's row back, in place."""
    user = signed_in(request)
    task = get_object_or_404(queries.tasks(user), pk=pk)
    following: Task | None = None
    done = ""
    try:
        if verb == "complete":
            following = services.complete_task(user, task).next_occurrence
            done = f"Done: {task.title}."
        elif verb == "reopen":
            services.reopen_task(user, task)
            done = f"Reopened: {task.title}."
        elif verb == "trash":
            services.trash_task(user, task)
            if request.htmx:  # type: ignore[attr-defined]
                return HttpResponse("")
            messages.success(request, f"{task.title} is in the trash.")
            return redirect("reminders:my-day")
        else:
            raise ValidationError(f"Unknown action {verb!r}.")
    except ConflictError as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(_messages_of(error)))
    except PermissionDenied as error:
        if request.htmx:  # type: ignore[attr-defined]
            raise
        messages.error(request, str(error) or "Your role does not allow this.")
    else:
        if not request.htmx:  # type: ignore[attr-defined]
            messages.success(request, done)
    if request.htmx:  # type: ignore[attr-defined]
        _mark_changeable(user, [task])
        context = {
            "task": task,
            "next_occurrence": following,
            # The customer's own panel does not repeat the customer on each row.
            "hide_customer": request.POST.get("in_panel") == "1",
        }
        return render(request, "reminders/my_day.html#task-row", context)
    return redirect(_back(request))


@login_required
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    task = get_object_or_404(queries.tasks(user), pk=pk)
    may_change = can(user, Action.CHANGE, task)
    initial = {
        "title": task.title,
        "notes": task.notes,
        "due_date": task.due_date,
        "due_time": task.due_time,
        "time_zone": task.time_zone,
        "priority": task.priority,
        "recurrence": task.recurrence,
        "assignee": task.assignee_id,
        "version": task.version,
    }
    form = TaskForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied("You may not change this task.")
        if form.is_valid():
            data = dict(form.cleaned_data)
            expected = data.pop("version")
            try:
                services.update_task(user, task, data, expected_version=expected)
            except ConflictError as error:
                form.add_error(None, str(error))
            except ValidationError as error:
                for message in _messages_of(error):
                    form.add_error(None, message)
            else:
                messages.success(request, "Saved.")
                return redirect("reminders:task", task.pk)
    context = {
        "task": task,
        "form": form,
        "may_change": may_change,
        "may_delete": can(user, Action.DELETE, task),
    }
    return render(request, "reminders/task.html", context)


@login_required
@require_POST
def calendar_regenerate(request: HttpRequest) -> HttpResponse:
    """A new secret calendar address; the old one answers 404 from now on."""
    issued = services.issue_calendar_feed(signed_in(request))
    request.session[ISSUED_FEED_SESSION_KEY] = issued.token
    return redirect("reminders:my-day")


@login_required
@require_POST
def calendar_revoke(request: HttpRequest) -> HttpResponse:
    services.revoke_calendar_feed(signed_in(request))
    messages.success(request, "Your calendar address is switched off.")
    return redirect("reminders:my-day")


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """No session: the secret address is the credential, and it shows only its owner's tasks."""
    feed = services.feed_for_token(token)
    if feed is None:
        raise Http404("No such calendar.")
    body = calendar.build(
        queries.calendar_tasks(feed.user),
        name=f"Rapport tasks of {feed.user}",
        base_url=request.build_absolute_uri("/").rstrip("/"),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="tasks.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


def _customer_of(user: User, post: Any) -> Contact | Company | None:
    """The contact or company a panel's quick add is for (404 unless the user sees it)."""
    contact_id, company_id = str(post.get("contact", "")), str(post.get("company", ""))
    for raw in (contact_id, company_id):
        if raw and not raw.isdigit():
            raise Http404("No such customer.")
    if contact_id:
        return get_object_or_404(customer_queries.contacts(user), pk=int(contact_id))
    if company_id:
        return get_object_or_404(customer_queries.companies(user), pk=int(company_id))
    return None


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return str(target)
    return reverse("reminders:my-day")
