from django.contrib import admin

from ..models import Brand, Category, ImportRun, Product
from .pricing import ProductPricingMixin


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "level", "elements", "is_active")


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ("name", "product_count")
    search_fields = ("name",)


@admin.register(Product)
class ProductAdmin(ProductPricingMixin, admin.ModelAdmin):
    list_display = ("article", "name", "brand", "category", "dealer_price", "retail_price", "stock", "is_active")
    search_fields = ("=article", "name", "article_pn", "barcode")

    def get_list_display(self, request):
        return tuple(self.list_display) + tuple(self.pricing_list_display)


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ("started_at", "kind", "status", "created", "updated", "unchanged", "deactivated")
