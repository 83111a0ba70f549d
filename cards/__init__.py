"""cards: Kaspi product cards through the content-import API: category and attribute mapping,
readiness of each product, uploads and their results. Reads catalog (products, properties, the SKU);
catalog does not know it exists."""
