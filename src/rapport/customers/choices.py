from django.db import models


class LifecycleStage(models.TextChoices):
    """Where a relationship stands. Prospects and customers are treated differently."""

    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    PROSPECT = "prospect", "Prospect"
    CUSTOMER = "customer", "Customer"
    EVANGELIST = "evangelist", "Evangelist"
    CHURNED = "churned", "Churned"
    OTHER = "other", "Other"


# Stages a record may never be moved back to silently once it is a customer:
# leaving "customer" (or "evangelist") needs an explicit reason.
CUSTOMER_STAGES = {LifecycleStage.CUSTOMER, LifecycleStage.EVANGELIST}
PRE_CUSTOMER_STAGES = {LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD, LifecycleStage.PROSPECT}


class ConsentChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    SMS = "sms", "SMS"
    POST = "post", "Post"


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SERVICE = "service", "Service"
    SURVEYS = "surveys", "Surveys"


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class CompanySize(models.TextChoices):
    MICRO = "1-9", "1-9"
    SMALL = "10-49", "10-49"
    MEDIUM = "50-249", "50-249"
    LARGE = "250-999", "250-999"
    ENTERPRISE = "1000+", "1000+"


class ContactLabel(models.TextChoices):
    WORK = "work", "Work"
    HOME = "home", "Home"
    MOBILE = "mobile", "Mobile"
    OTHER = "other", "Other"


class AddressKind(models.TextChoices):
    BILLING = "billing", "Billing"
    SHIPPING = "shipping", "Shipping"
    OFFICE = "office", "Office"
    HOME = "home", "Home"
    OTHER = "other", "Other"
