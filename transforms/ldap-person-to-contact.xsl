<?xml version="1.0" encoding="UTF-8"?>
<!--
  ldap-person-to-contact.xsl: an LDAP inetOrgPerson entry (as the ldap source publishes it) to a
  CouchDB contact document (as the couchdb sink writes it).

    object type  inetOrgPerson   -> $contact-type (default "contact")
    cn               -> name          givenName        -> firstName
    sn               -> lastName      mail             -> email
    telephoneNumber  -> phone         title            -> jobTitle
    ou               -> department

  Attribute names match case-insensitively (LDAP spelling varies). Other attributes (objectClass,
  uid, ...) are dropped; so are their names in <changed>, and mapped names are renamed there too.
  Identity is kept: the atom id, origin, the object's CSN, keys, tags and every field's own CSN,
  so per-field last-writer-wins works across the two systems. Tombstones of persons keep their
  identity and get the contact type. Entries of other types are dropped unless
  $other-types = 'copy'.
-->
<xsl:stylesheet version="3.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:at="http://purl.org/atompub/tombstones/1.0"
    xmlns:ps="urn:xmpp:pubsync:entry:1"
    xmlns:local="urn:pubsync:transforms:local"
    exclude-result-prefixes="#all" expand-text="yes">

  <xsl:param name="contact-type" as="xs:string" select="'contact'"/>
  <!-- 'drop' or 'copy': what happens to entries that are not inetOrgPerson. -->
  <xsl:param name="other-types" as="xs:string" select="'drop'"/>

  <xsl:variable name="names" as="map(xs:string, xs:string)" select="map {
      'cn': 'name', 'givenname': 'firstName', 'sn': 'lastName', 'mail': 'email',
      'telephonenumber': 'phone', 'title': 'jobTitle', 'ou': 'department' }"/>

  <xsl:mode on-no-match="shallow-copy"/>

  <xsl:function name="local:is-person" as="xs:boolean">
    <xsl:param name="object" as="element(ps:object)?"/>
    <xsl:sequence select="lower-case(string($object/@type)) = 'inetorgperson'"/>
  </xsl:function>

  <xsl:template match="atom:entry[not(local:is-person(atom:content/ps:object))]
                     | at:deleted-entry[not(local:is-person(ps:object))]">
    <xsl:if test="$other-types = 'copy'">
      <xsl:next-match/>
    </xsl:if>
  </xsl:template>

  <xsl:template match="atom:entry[local:is-person(atom:content/ps:object)]/atom:category[@scheme = 'urn:pubsync:type']/@term">
    <xsl:attribute name="term" select="$contact-type"/>
  </xsl:template>

  <xsl:template match="ps:object[local:is-person(.)]/@type">
    <xsl:attribute name="type" select="$contact-type"/>
  </xsl:template>

  <xsl:template match="ps:object[local:is-person(.)]/ps:field">
    <xsl:variable name="to" select="$names(lower-case(ps:name))"/>
    <xsl:if test="exists($to)">
      <xsl:copy>
        <xsl:copy-of select="@*"/>
        <ps:name>{$to}</ps:name>
        <xsl:copy-of select="ps:v"/>
      </xsl:copy>
    </xsl:if>
  </xsl:template>

  <xsl:template match="ps:object[local:is-person(.)]/ps:changed">
    <xsl:variable name="to" select="$names(lower-case(.))"/>
    <xsl:if test="exists($to)">
      <ps:changed>{$to}</ps:changed>
    </xsl:if>
  </xsl:template>
</xsl:stylesheet>
