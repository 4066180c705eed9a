<?xml version="1.0" encoding="UTF-8"?>
<!--
  json-doc.xsl: reshapes the JSON inside json-typed fields (a CouchDB document's nested objects and
  lists, as the couchdb source publishes them) with XSLT 3.0 maps and arrays.

  Each json value is read with parse-json() into maps and arrays, then, at every depth:
    - object keys listed in $renames ("old=new,old2=new2") are renamed;
    - object keys listed in $drop ("key1,key2") are removed, with what they hold;
    - null members are removed when $drop-nulls is true();
  and written back with serialize(..., map { 'method': 'json' }). Field names, CSNs and all other
  parts of the entry (identity, keys, <changed>, scalar fields, tombstones) are kept as they are.
  $types ("contact,memo") limits it to those object types; empty means every type.

  Numbers go through xs:double, as parse-json() reads them: integers beyond 2^53 lose precision.
-->
<xsl:stylesheet version="3.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:map="http://www.w3.org/2005/xpath-functions/map"
    xmlns:array="http://www.w3.org/2005/xpath-functions/array"
    xmlns:ps="urn:xmpp:pubsync:entry:1"
    xmlns:local="urn:pubsync:transforms:local"
    exclude-result-prefixes="#all" expand-text="yes">

  <xsl:param name="renames" as="xs:string" select="''"/>
  <xsl:param name="drop" as="xs:string" select="''"/>
  <xsl:param name="drop-nulls" as="xs:boolean" select="false()"/>
  <xsl:param name="types" as="xs:string" select="''"/>

  <xsl:variable name="rename-map" as="map(xs:string, xs:string)" select="map:merge(
      for $pair in tokenize($renames, ',')[contains(., '=')]
      return map { normalize-space(substring-before($pair, '=')): normalize-space(substring-after($pair, '=')) })"/>
  <xsl:variable name="drop-keys" as="xs:string*" select="tokenize($drop, ',') ! normalize-space(.)[. != '']"/>
  <xsl:variable name="type-list" as="xs:string*" select="tokenize($types, ',') ! normalize-space(.)[. != '']"/>

  <xsl:mode on-no-match="shallow-copy"/>

  <xsl:function name="local:reshape" as="item()?">
    <xsl:param name="value" as="item()?"/>
    <xsl:choose>
      <xsl:when test="$value instance of map(*)">
        <xsl:sequence select="map:merge(
            for $key in map:keys($value)[not(. = $drop-keys)][not($drop-nulls and empty($value(.)))]
            return map { ($rename-map($key), $key)[1]: local:reshape($value($key)) })"/>
      </xsl:when>
      <xsl:when test="$value instance of array(*)">
        <xsl:sequence select="array:for-each($value, local:reshape#1)"/>
      </xsl:when>
      <xsl:otherwise>
        <xsl:sequence select="$value"/>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:function>

  <xsl:template match="ps:object[empty($type-list) or @type = $type-list]/ps:field[@type = 'json']/ps:v[not(@enc)]">
    <xsl:copy>{serialize(local:reshape(parse-json(.)), map { 'method': 'json' })}</xsl:copy>
  </xsl:template>
</xsl:stylesheet>
