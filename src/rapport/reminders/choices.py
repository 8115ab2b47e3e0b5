from django.db import models


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TaskStatus(models.TextChoices):
    """For filters only: a task is open or done; overdue is an open task past its due."""

    OPEN = "open", "Open"
    OVERDUE = "overdue", "Overdue"
    DONE = "done", "Done"
