"""Alerts in the admin: the outbox (alerts and their deliveries, read-only; failed ones can be
sent again), and each staff user's own subscription (Telegram chat id, e-mail, kinds)."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kaspisync.admin import ReadOnlyAdmin, ReadOnlyInline, permission_words

from . import selectors, services
from .models import KINDS, SUBSCRIBABLE, Alert, Delivery, Subscription, kind_label


class RecipientColumns:
    """A delivery's address and error in full for its own recipient (and superusers); masked for
    colleagues, who see whom an alert reached and how it went, but not how to write to them."""

    def get_queryset(self, request):
        return selectors.with_address_visibility(super().get_queryset(request), request.user)

    @admin.display(description=gettext_lazy("recipient"), ordering="address")
    def recipient(self, obj):
        return obj.address if obj.address_visible else obj.masked_address

    @admin.display(description=gettext_lazy("last error"))
    def last_error(self, obj):
        if obj.address_visible or not obj.address:
            return obj.error
        return obj.error.replace(obj.address, obj.masked_address)


class DeliveryInline(RecipientColumns, ReadOnlyInline, admin.TabularInline):
    model = Delivery
    fields = ("channel", "recipient", "user", "status", "attempts", "next_attempt_at", "sent_at", "last_error")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")  # the user column of every row


class KindFilter(admin.SimpleListFilter):
    title = gettext_lazy("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind, kind_label(kind)) for kind in KINDS]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind_name", "title", "deliveries_summary")
    list_filter = (KindFilter, "created_at")
    search_fields = ("title", "key")
    date_hierarchy = "created_at"
    fields = ("created_at", "kind_name", "key", "title", "text", "link", "needed_permission")
    readonly_fields = fields
    inlines = [DeliveryInline]

    def get_queryset(self, request):
        # Only the alerts this user may receive: the others would never be sent to them either.
        visible = selectors.receivable_by(request.user)
        return super().get_queryset(request).filter(visible).prefetch_related("deliveries")

    @admin.display(description=gettext_lazy("permission needed to receive it"))
    def needed_permission(self, obj):
        return permission_words(obj.permission) or _("none (every staff user)")

    @admin.display(description=gettext_lazy("kind"), ordering="kind")
    def kind_name(self, obj):
        return obj.kind_display

    @admin.display(description=gettext_lazy("text"))
    def text(self, obj):
        return "\n".join(obj.lines)

    @admin.display(description=gettext_lazy("deliveries"))
    def deliveries_summary(self, obj):
        counts: dict[str, int] = {}
        for delivery in obj.deliveries.all():
            label = delivery.get_status_display()
            counts[label] = counts.get(label, 0) + 1
        return ", ".join(f"{label}: {n}" for label, n in counts.items()) or _("no recipients")


@admin.register(Delivery)
class DeliveryAdmin(RecipientColumns, ReadOnlyAdmin):
    list_display = ("alert", "channel", "recipient", "status", "attempts", "next_attempt_at", "sent_at", "last_error")
    list_filter = ("status", "channel")
    list_select_related = ("alert",)
    fields = ("alert", "channel", "recipient", "user", "status", "attempts", "next_attempt_at", "sent_at", "last_error")
    readonly_fields = fields
    actions = ["send_again"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(selectors.receivable_by(request.user, prefix="alert__"))

    def get_search_fields(self, request):
        # Searching by address would tell a colleague's address letter by letter.
        return ("address", "alert__title") if request.user.is_superuser else ("alert__title", "user__username")

    @admin.action(description=gettext_lazy("Send again (failed or outcome unknown)"), permissions=["resend"])
    def send_again(self, request, queryset):
        count = services.resend(queryset)
        messages.success(
            request,
            ngettext("%(n)s message will be sent again.", "%(n)s messages will be sent again.", count) % {"n": count},
        )

    def has_resend_permission(self, request):
        return request.user.has_perm("alerts.resend_delivery")


class SubscriptionForm(forms.ModelForm):
    telegram_kinds = forms.MultipleChoiceField(
        label=gettext_lazy("in Telegram"), required=False, widget=forms.CheckboxSelectMultiple
    )
    email_kinds = forms.MultipleChoiceField(
        label=gettext_lazy("by e-mail"), required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Subscription
        fields = ("user", "telegram_chat_id", "email", "telegram_kinds", "email_kinds", "is_active")

    def __init__(self, *args, allowed_kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(kind, kind_label(kind)) for kind in allowed_kinds]
        self.fields["telegram_kinds"].choices = choices
        self.fields["email_kinds"].choices = choices


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Every staff user manages their own subscription; superusers see everyone's. Only the kinds
    the user's permissions let them receive are offered."""

    form = SubscriptionForm
    list_display = ("user", "telegram_chat_id", "email", "kinds", "is_active")
    actions = ["send_test"]

    def kinds(self, obj):
        chosen = dict.fromkeys([*obj.telegram_kinds, *obj.email_kinds])
        return ", ".join(kind_label(kind) for kind in chosen) or "—"

    kinds.short_description = gettext_lazy("kinds")

    # --- own row only ------------------------------------------------------------------------
    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("user")
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request) and (obj is None or self._own(request, obj))

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request):
        if not self.has_module_permission(request):
            return False
        return request.user.is_superuser or not Subscription.objects.filter(user=request.user).exists()

    @staticmethod
    def _own(request, obj) -> bool:
        return request.user.is_superuser or obj.user_id == request.user.pk

    def get_readonly_fields(self, request, obj=None):
        return () if request.user.is_superuser else ("user",)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        user = obj.user if obj is not None else request.user
        allowed = [kind for kind in SUBSCRIBABLE if not KINDS[kind][1] or user.has_perm(KINDS[kind][1])]

        class Form(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, allowed_kinds=allowed, **kw)

        return Form

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.user = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("Send a test message"))
    def send_test(self, request, queryset):
        alerts = [services.send_test(sub) for sub in queryset]
        count = sum(alert.deliveries.count() for alert in alerts)
        if count:
            messages.success(
                request,
                ngettext(
                    "%(n)s test message queued: it arrives within a minute.",
                    "%(n)s test messages queued: they arrive within a minute.",
                    count,
                )
                % {"n": count},
            )
        else:
            messages.warning(
                request,
                _("Nothing to send: no Telegram chat id or e-mail, or the channel is not set up on this portal."),
            )
